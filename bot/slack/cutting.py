"""Cutting marked-up text into pieces Slack accepts, without breaking its markup.

Slack refuses a block over its size, so long text is split; a split inside a link or an
escape would show broken markup (or a dead link). mrkdwn and Markdown differ only in
which spans must stay whole and where a sentence ends, so both use one :class:`Cutter`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cutter:
    """``atomic``: spans never split (links, entities, escapes); ``sentence_end``: where a
    sentence ends; ``lines_first``: a line break is a better place to cut than a sentence
    end (Markdown, whose lines are list items), rather than as good as a space (mrkdwn)."""

    atomic: re.Pattern[str]
    sentence_end: re.Pattern[str]
    lines_first: bool = False

    def safe(self, text: str, pos: int) -> int:
        """``pos`` moved back to the start of any atomic span it would split."""
        for m in self.atomic.finditer(text):
            if m.start() >= pos:
                break
            if m.start() < pos < m.end():
                return m.start()
        return pos

    def best_cut(self, text: str, limit: int) -> int:
        """Where to cut to keep at most ``limit`` characters: paragraph, (line,) sentence,
        word; the hard limit only when none of them is past a third of it."""
        window = text[:limit + 1]
        sentence = max((m.end() for m in self.sentence_end.finditer(window)
                        if m.end() <= limit), default=-1)
        if self.lines_first:
            candidates = [window.rfind("\n\n"), window.rfind("\n"), sentence,
                          window.rfind(" ")]
        else:
            candidates = [window.rfind("\n\n"), sentence,
                          max(window.rfind(" "), window.rfind("\n"))]
        for pos in candidates:
            pos = self.safe(text, pos) if pos > 0 else pos
            if pos > limit // 3:
                return pos
        pos = self.safe(text, limit)
        return pos if pos > 0 else limit

    def split(self, text: str, limit: int) -> list[str]:
        """``text`` in pieces of at most ``limit`` characters, none empty, spans whole."""
        pieces: list[str] = []
        rest = text.strip()
        while len(rest) > limit:
            cut = self.best_cut(rest, limit)
            piece = rest[:cut].strip()
            if piece:
                pieces.append(piece)
            rest = rest[cut:].strip()
        if rest:
            pieces.append(rest)
        return pieces
