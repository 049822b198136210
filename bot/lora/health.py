"""Keeps the adapter registry in step with what the LLM server really serves.

At start and every ``adapters.check_interval_s`` it asks the server for its model list. An
adapter in use that the server does not list (vLLM restarted without it, a push on another
replica) is answered by the base model: better a plainer answer than an error on every
question. A server that does not answer at all is left alone: each question then fails
over to the extractive answer, as it always has. Changes are logged once, not every check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.lora.registry import AdapterRegistry
from model.generators.base import GeneratorError, GeneratorUnavailable

log = logging.getLogger(__name__)


class AdapterHealth:
    """``list_models``: e.g. ``OpenAICompatibleGenerator.list_models``."""

    def __init__(self, registry: AdapterRegistry, list_models: Callable[[], list[str]],
                 interval_s: float | None = None) -> None:
        self.registry = registry
        self.list_models = list_models
        self.interval_s = registry.settings.adapters.check_interval_s if interval_s is None \
            else interval_s
        self.endpoint_up: bool | None = None
        self.state: dict[str, str] = {}  # adapter name -> model requested ("" = base model)
        self._seen: dict[str, tuple[str, str]] = {}  # name -> (wanted, requested)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One check; True when the server answered. Logs only what changed."""
        try:
            listed = self.list_models()
        except (GeneratorUnavailable, GeneratorError) as exc:
            if self.endpoint_up is not False:
                log.warning("LLM server not answering its model list (%s); answers fall "
                            "back to quoting the policies until it does", exc)
            self.endpoint_up = False
            return False
        if self.endpoint_up is False:
            log.info("LLM server answers again")
        self.endpoint_up = True
        self.registry.refresh()
        self.registry.set_listed(listed)
        for name in sorted(self.registry.names_in_use()):
            self._note(name, self.registry.served_name(name), self.registry.resolve(name) or "")
        return True

    def _note(self, name: str, served: str, now: str) -> None:
        before = self._seen.get(name)
        self.state[name] = now
        self._seen[name] = (served, now)
        if before == (served, now):
            return
        if not now:
            log.warning("adapter %r (served as %r) is not listed by the LLM server; its "
                        "channels get the base model", name, served)
        elif now != served:
            log.warning("adapter %r: %r is not listed, using %r as loaded at server start",
                        name, served, now)
        elif before is not None and before[1] != now:
            log.info("adapter %r is now served as %r", name, now)

    def start(self) -> None:
        """Check now, then every ``interval_s`` in a daemon thread (0: only now)."""
        self.check()
        if self.interval_s > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="adapter-health",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a health check must never kill its thread
                log.exception("adapter health check failed")

    def stop(self) -> None:
        """Stop the background checks (at shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
