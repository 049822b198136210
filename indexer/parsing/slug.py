"""Heading anchors the way GitHub and most static-site generators make them."""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


class Slugger:
    """Turns heading text into unique fragment ids within one document.

    GitHub's rule: lower-case, drop punctuation, spaces to hyphens, and suffix
    ``-1``, ``-2``... on repeats, so ``#annual-leave`` opens the right heading.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, text: str) -> str:
        base = _DROP.sub("", unicodedata.normalize("NFKC", text).strip().lower())
        base = base.replace(" ", "-")
        count = self._seen.get(base, 0)
        self._seen[base] = count + 1
        return base if count == 0 else f"{base}-{count}"
