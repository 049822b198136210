"""An LRU cache in front of an embedding function.

The extractive answer and the support check embed passage sentences at question time.
Popular policies are asked about again and again, so their sentences are embedded once
per process instead of once per question.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


class CachedEmbed:
    def __init__(self, embed: Embed, maxsize: int = 50_000) -> None:
        self.embed, self.maxsize = embed, maxsize
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self.embed(missing)
            with self._lock:
                for t, v in zip(missing, fresh, strict=True):
                    self._cache[t] = v
                    found[t] = v
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)
