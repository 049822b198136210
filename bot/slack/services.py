"""Everything a listener needs, built once per app: one place to wire, one place to fake
nothing (tests build the same object over a temporary home)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from bot.ask import Ask
from bot.history import BotHistory
from bot.settings import AppSettings
from bot.slack.access import Access, GroupMembers
from bot.slack.metrics import Metrics
from bot.slack.ratelimit import RateLimiter
from bot.slack.workers import Workers, drain
from indexer.index import PolicyIndex
from model.answerer import Answerer

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: AppSettings
    index: PolicyIndex
    history: BotHistory
    client: WebClient
    access: Access
    limiter: RateLimiter
    metrics: Metrics
    workers: Workers
    syncs: Workers = field(default_factory=lambda: Workers(1, queue=8))  # one sync at a time
    notes: Workers = field(default_factory=lambda: Workers(2, queue=200))  # short replies
    bot_user_id: str = ""
    adapters: Any = None  # AdapterRegistry when an OpenAI-compatible server answers
    claims: Any = None  # QuestionClaims (bot.slack.dedupe): leased dedupe of questions
    native: Any = None  # NativeState (bot.slack.native_stream): streams, stops, refusals
    on_close: list[Callable[[], None]] = field(default_factory=list)
    _answerer: Answerer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    ask: Ask = field(init=False, repr=False)  # the one way every surface answers

    @classmethod
    def build(cls, settings: AppSettings, client: WebClient,
              index: PolicyIndex | None = None) -> Services:
        slack = settings.slack
        index = index or PolicyIndex(settings)
        adapters = None
        if settings.generator.backend == "openai":
            from bot.lora.registry import AdapterRegistry

            adapters = AdapterRegistry(settings)
        return cls(settings=settings, index=index, history=BotHistory(settings.db_url),
                   client=client,
                   access=Access(settings, GroupMembers(client, slack.membership_cache_s,
                                                        slack.membership_grace_s)),
                   limiter=RateLimiter(slack.rate_limit, slack.rate_window_s),
                   metrics=Metrics(), workers=Workers(slack.workers, slack.queue),
                   adapters=adapters)

    def __post_init__(self) -> None:
        if self.claims is None:
            from bot.slack.dedupe import QuestionClaims

            self.claims = QuestionClaims(self.history, self.settings.slack.claim_lease_s)
            self.on_close.append(self.claims.close)
        if self.native is None:
            from bot.slack.native_stream import NativeState

            self.native = NativeState(self.client, self.settings.slack)
        from bot.slack.asking import slack_ask

        self.ask = slack_ask(self)

    def answerer(self) -> Answerer:
        """Built on first use; IndexMissingError until the first sync has written rows."""
        with self._lock:
            if self._answerer is None:
                from bot.answering import build_answerer

                self._answerer = build_answerer(self.settings, self.index)
            return self._answerer

    @property
    def source_names(self) -> list[str]:
        return [s.name for s in self.settings.sources]

    def close(self, grace_s: float = 0.0) -> None:
        """Stop taking work; with ``grace_s``, let acked questions finish first, since
        Slack will not deliver them again."""
        if grace_s:
            drain((self.workers, self.notes), grace_s)
        for pool in (self.workers, self.notes, self.syncs):
            pool.shutdown(wait=False)
        for stop in self.on_close:
            stop()

    def slack_error(self, method: str, exc: Any) -> None:
        """Count a Web API failure for /metrics; callers decide what the user sees."""
        error = getattr(getattr(exc, "response", None), "get", lambda *_: None)("error")
        self.metrics.slack_errors.labels(method, error or type(exc).__name__).inc()
        log.warning("Slack %s failed: %s", method, error or exc)
