"""Relays a streaming answer into the placeholder message, at most once per interval.

Slack rate-limits ``chat.update`` (about one a second per message is safe), so partial
text is sent only when the interval has passed; the final answer always replaces it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttled:
    def __init__(self, send: Callable[[str], None], interval_s: float) -> None:
        self.send, self.interval_s = send, interval_s
        self._last = time.monotonic()  # the placeholder itself was just posted
        self._lock = threading.Lock()
        self.sent = 0

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval_s or not text.strip():
                return
            self._last = now
        try:
            self.send(text)
            self.sent += 1
        except Exception:  # a lost partial update is harmless; the final one matters
            return
