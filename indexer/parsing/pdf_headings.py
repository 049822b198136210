"""Which PDF lines are headings, and how deep.

PDFs keep no outline of their text, only glyphs. The reliable signal is typography: lines
set larger than the body text, or bold where the body is not, are headings, and bigger
means higher. When a PDF uses one font throughout, a text heuristic takes over: a short,
unpunctuated line in Title Case, ALL CAPS or numbered ("2.1 Claims") between sentences.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from indexer.parsing.pdf_lines import Line

_NUMBERED = re.compile(r"^(?:(\d+(?:\.\d+)*)\.?|[A-Z]\.|[IVXLC]+\.)\s+(\S.*)$")
_MINOR = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the",
          "to", "with", "per", "vs", "via", "&", "-", "–"}
_SENTENCE_END = (".", ":", "!", "?", ";")
_LARGER = 1.15


@dataclass
class Heading:
    """A heading spanning ``lines[first:last + 1]`` (long headings wrap)."""

    first: int
    last: int
    text: str
    level: int


def _shaped(text: str) -> bool:
    """Short, not a sentence, and has words: the shape every heading has."""
    return (2 <= len(text) < 80 and not text.endswith((".", ",", ";"))
            and any(c.isalpha() for c in text) and len(text.split()) <= 12)


def _looks_titled(text: str) -> bool:
    """Title Case, ALL CAPS or numbered: how headings are written when fonts don't say."""
    match = _NUMBERED.match(text)
    if match:
        return match.group(2)[:1].isupper()
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 3 and all(c.isupper() for c in letters):
        return True
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text) if w.lower() not in _MINOR]
    return bool(words) and text[:1].isupper() and all(w[:1].isupper() for w in words)


def _text_level(text: str) -> int:
    match = _NUMBERED.match(text)
    return len(match.group(1).split(".")) if match and match.group(1) else 1


def body_style(lines: list[Line]) -> tuple[float, bool]:
    """The size and weight most characters are set in."""
    sizes: Counter[float] = Counter()
    bold: Counter[bool] = Counter()
    for line in lines:
        if line.size and line.text and not line.skip:
            sizes[line.size] += len(line.text)
            bold[line.bold] += len(line.text)
    if not sizes:
        return 0.0, False
    return sizes.most_common(1)[0][0], bold[True] > bold[False]


def _by_font(lines: list[Line]) -> dict[int, tuple[float, bool]]:
    size, bold = body_style(lines)
    if not size:
        return {}
    return {i: (ln.size, ln.bold) for i, ln in enumerate(lines)
            if ln.text and not ln.skip and _shaped(ln.text)
            and (ln.size >= size * _LARGER or (ln.bold and not bold and ln.size >= size * 0.95))}


def _by_text(lines: list[Line]) -> dict[int, int]:
    filled = [i for i, ln in enumerate(lines) if ln.text and not ln.skip]
    found: dict[int, int] = {}
    for pos, i in enumerate(filled):
        text = lines[i].text
        if pos + 1 == len(filled) or not (_shaped(text) and _looks_titled(text)):
            continue
        prev = lines[filled[pos - 1]] if pos else None
        after_sentence = (prev is None or prev.page != lines[i].page
                          or prev.text.endswith(_SENTENCE_END) or filled[pos - 1] in found)
        if after_sentence:
            found[i] = _text_level(text)
    return found


def find_headings(lines: list[Line]) -> list[Heading]:
    """Headings in document order, typography first, text shape as the fallback."""
    styled = _by_font(lines)
    if styled:
        ranks = sorted(set(styled.values()), key=lambda s: (-s[0], not s[1]))
        levels = {i: ranks.index(style) + 1 for i, style in styled.items()}
    else:
        levels = _by_text(lines)
    headings: list[Heading] = []
    for i in sorted(levels):
        prev = headings[-1] if headings else None
        if (prev and styled and prev.last == i - 1 and prev.level == levels[i]
                and lines[i].page == lines[prev.last].page):
            prev.last, prev.text = i, f"{prev.text} {lines[i].text}"  # a wrapped heading
            continue
        headings.append(Heading(i, i, lines[i].text, levels[i]))
    return headings
