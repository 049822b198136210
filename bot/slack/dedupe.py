"""Skips Slack's retries and duplicate deliveries before any listener runs.

Slack re-sends an event it thinks we were slow on (``X-Slack-Retry-Num``) with the same
``event_id``; the id is claimed in the state database, so the answer is given once even
across restarts and replicas. The retry is still acknowledged, or Slack keeps retrying.

A question's claim is a lease (:class:`QuestionClaims`): renewed while this process
prepares the answer and made final once it is done. A replica killed mid-answer stops
renewing, so after ``slack.claim_lease_s`` a retry of that question is answered by another
replica instead of being skipped for good; a finished question is never answered again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from slack_bolt import BoltResponse

from bot.history import BotHistory
from bot.slack.services import Services

log = logging.getLogger(__name__)


# Questions claim their event id together with their message id in one commit, in the
# answer worker after the ack (listeners/events.py); everything else is claimed here.
CLAIMED_BY_LISTENER = {"app_mention", "message"}


def event_key(body: dict[str, Any]) -> str | None:
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    return f"event:{event_id}" if event_id else None


def claim(svc: Services, keys: list[str]) -> bool:
    """True the first time these keys are seen (in one commit); False, counted and logged,
    for a retry or a duplicate delivery."""
    if keys and not svc.history.claim_event(*keys):
        _duplicate(svc, keys)
        return False
    return True


def claim_question(svc: Services, keys: Sequence[str]) -> AbstractContextManager[None] | None:
    """The Ask's claim step for a Slack question: None (counted and logged) when another
    process holds or finished it; else the lease, to be held while the question is
    answered (renewed meanwhile, final when the body ends, whatever the outcome)."""
    if not keys:
        return contextlib.nullcontext()
    if not svc.claims.take(list(keys)):
        _duplicate(svc, keys)
        return None
    return svc.claims.held(list(keys))


def claim_final(svc: Services, keys: Sequence[str]) -> bool:
    """Claim a question for good at once (it will not be answered: e.g. every queue is
    full and the asker is told so); False, counted, for a retry or duplicate."""
    if keys and not svc.claims.take(list(keys), final=True):
        _duplicate(svc, keys)
        return False
    return True


def _duplicate(svc: Services, keys: Sequence[str]) -> None:
    """A retry or second delivery: counted, and logged by its first key."""
    svc.metrics.duplicates.inc()
    log.info("skipping %s: already handled (a retry or duplicate delivery)", keys[0])


def dedupe_middleware(svc: Services) -> Callable[..., Any]:
    def dedupe(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:  # noqa: A002
        key = event_key(body)
        if (body.get("event") or {}).get("type") in CLAIMED_BY_LISTENER:
            key = None
        if key and not claim(svc, [key]):
            return BoltResponse(status=200, body="")
        next()
        return None

    return dedupe


class QuestionClaims:
    """The claims of the questions this process is answering, kept alive by one thread."""

    def __init__(self, history: BotHistory, lease_s: float) -> None:
        self.history = history
        self.lease_s = lease_s
        self._held: dict[str, int] = {}  # key → how many answers in progress hold it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, keys: list[str], final: bool = False) -> bool:
        """Claim ``keys`` (for good when ``final``); False when another process holds or
        finished them."""
        return self.history.claim_question(keys, None if final else self.lease_s)

    @contextmanager
    def held(self, keys: list[str]) -> Iterator[None]:
        """Renew the claim of ``keys`` while the body runs, then make it final: whatever
        the outcome, the asker was told something, and a retry must not tell them twice."""
        with self._lock:
            for key in keys:
                self._held[key] = self._held.get(key, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._renew, name="claim-leases",
                                                daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                for key in keys:
                    self._held[key] -= 1
                    if not self._held[key]:
                        del self._held[key]
            try:
                self.history.finish_claims(keys)
            except Exception:  # the lease lapses instead: a retry may then be answered
                log.exception("could not mark %s answered", keys[0] if keys else "")

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            with self._lock:
                keys = list(self._held)
            try:
                self.history.renew_claims(keys, self.lease_s)
            except Exception:  # the database may be briefly away: the lease has slack
                log.exception("could not renew the claims of questions being answered")

    def close(self) -> None:
        self._stop.set()
