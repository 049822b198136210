"""A per-user limit on questions, so one person (or script) cannot monopolise the bot."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    """At most ``limit`` questions per user in any ``window_s`` seconds (sliding window).

    Per process: with several replicas each enforces its own window, which still bounds
    one user to ``limit × replicas``.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, user_id: str) -> float:
        """0 when the question may go ahead (and counts it), else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen[user_id]
            while seen and now - seen[0] >= self.window_s:
                seen.popleft()
            if len(seen) >= self.limit:
                return max(0.1, self.window_s - (now - seen[0]))
            seen.append(now)
            return 0.0
