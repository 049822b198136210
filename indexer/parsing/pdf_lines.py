"""Text lines of a PDF with the font size and weight they were drawn in.

pypdf's ``visitor_text`` reports each text run with its font and matrices; folding the runs
into lines gives what heading detection needs (size, boldness, vertical position) for the
same lines ``extract_text`` returns. Running headers, footers and page numbers are dropped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pypdf import PageObject

_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_ROMAN = r"(?=[ivxlc])(?:x[cl]|l?x{0,3})(?:i[xv]|v?i{0,3})"  # lower-case front-matter numbers
_PAGE_NO = re.compile(
    rf"^(?:[Pp]age\s*)?[-–—]?\s*(?:\d+|{_ROMAN})\s*(?:(?:of|/)\s*\d+)?\s*[-–—]?$")
_DIGITS = re.compile(r"\d+")


@dataclass
class Line:
    """One extracted line; ``number`` counts lines across the whole document, from 1."""

    text: str
    page: int
    number: int
    size: float = 0.0  # effective font size of most of its characters; 0 when unknown
    bold: bool = False
    y: float | None = None  # baseline height on the page, larger is higher
    skip: bool = False  # a page number or running header/footer, not content
    _sizes: Counter[tuple[float, bool]] = field(default_factory=Counter, repr=False)

    def settle(self) -> None:
        """Pick the style most of the line's characters share."""
        if self._sizes:
            total = sum(self._sizes.values())
            self.size = self._sizes.most_common(1)[0][0][0]
            self.bold = sum(n for (_, b), n in self._sizes.items() if b) >= 0.8 * total


def _mult(m: list[float], n: list[float]) -> list[float]:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return [a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s,
            e * p + f * r + t, e * q + f * s + u]


def page_lines(page: PageObject, page_number: int, first_number: int) -> list[Line]:
    """The page's lines, numbered on from ``first_number``."""
    lines = [Line("", page_number, first_number)]

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        for i, piece in enumerate(text.split("\n")):
            if i:
                lines.append(Line("", page_number, lines[-1].number + 1))
            line = lines[-1]
            line.text += piece
            chars = len(piece.strip())
            if not chars:
                continue
            try:
                m = _mult([float(v) for v in tm], [float(v) for v in cm])
                height = round(float(size) * math.hypot(m[2], m[3]) * 2) / 2
                name = str(font.get("/BaseFont", "")) if font else ""
            except (TypeError, ValueError):
                continue
            if line.y is None:
                line.y = m[5]
            line._sizes[(height, bool(_BOLD.search(name)))] += chars

    page.extract_text(visitor_text=visit)
    for line in lines:
        line.text = line.text.strip()
        line.settle()
    return lines


def is_page_number(text: str) -> bool:
    """"7", "Page 7 of 20", "- 7 -", "vii": a page number on its own line."""
    return bool(_PAGE_NO.match(text.strip()))


def drop_running_text(pages: list[list[Line]]) -> None:
    """Mark page numbers and headers/footers repeated on most pages as ``skip``, in place.

    Lines are marked rather than removed so that line numbers stay those of the text.
    """
    def edges(lines: list[Line]) -> list[Line]:
        filled = [ln for ln in lines if ln.text]
        return filled[:2] + filled[-2:]

    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_DIGITS.sub("#", ln.text) for ln in edges(lines)})
    for lines in pages:
        for line in edges(lines):
            count = seen[_DIGITS.sub("#", line.text)]
            repeated = len(pages) >= 3 and count >= max(3, 0.25 * len(pages))
            if is_page_number(line.text) or repeated:
                line.skip = True
