"""Sentence splitting and content-word overlap, shared by the extractive generator, the
citation quoting and the unsupported-claim check."""

from __future__ import annotations

import re

_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset("""
    a an and are as at be been but by can could do does did for from get got has have
    having how i if in into is it its me my no not of on or our should so than that the
    their them then there these they this to up us was we were what when where which who
    whom why will with would you your yours am any all also about after before being
    both each few more most other some such only own same too very just dont cant im ive
    id whats hows please tell know need want like much many
""".split())  # noqa: SIM905 - a word list reads best as text


_ABBREVIATION = re.compile(r"\b(?:[A-Z][a-z]{0,3}|e\.g|i\.e|etc|vs|approx|incl|No|Nr)\.$")
TABLE_ROW = re.compile(r"^(?:- )?[^:;]{1,60}: .*; [^:;]{1,60}: ")  # "Key: value; Key: …"


def sentences(text: str) -> list[str]:
    """Sentences of a passage; each line (list item, table row) is split on its own.

    Table rows (``Entity: X; Allowance: 25 days``) stay whole, and a full stop after an
    abbreviation such as ``Lda.`` or ``e.g.`` does not end a sentence."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if TABLE_ROW.match(line):
            out.append(line)
            continue
        pieces = [s.strip() for s in _SPLIT.split(line) if s.strip()]
        for piece in pieces:
            if out and _ABBREVIATION.search(out[-1]) and out[-1] in line:
                out[-1] = f"{out[-1]} {piece}"
            else:
                out.append(piece)
    return out


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "s", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def terms(text: str) -> set[str]:
    """Lower-cased, crudely stemmed content words: enough to compare phrasing."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def overlap(query: str | set[str], text: str | set[str]) -> float:
    """Share of the query's content words found in ``text`` (0..1)."""
    q = terms(query) if isinstance(query, str) else query
    t = terms(text) if isinstance(text, str) else text
    return len(q & t) / len(q) if q else 0.0


def answer_units(text: str, max_words: int = 70) -> list[str]:
    """Sentences, with a lead-in ending in ':' joined to the list items it introduces.

    "If a laptop is lost, report it within 1 hour:" says little alone; with its items it is
    the answer. Units are for choosing; :func:`unit_lines` gives the lines to show, and
    quotes come from :func:`sentences`."""
    return [unit_text(lines) for lines in unit_lines(text, max_words)]


def unit_text(lines: list[str]) -> str:
    """One of :func:`answer_units`' units from its :func:`unit_lines` lines."""
    lead, *items = lines
    return f"{lead} {'; '.join(x[2:].strip().rstrip('.') for x in items)}." if items else lead


def unit_lines(text: str, max_words: int = 70) -> list[list[str]]:
    """The source lines of each of :func:`answer_units`' units, verbatim: a lead-in and
    its "- " list items, or one sentence."""
    units = sentences(text)
    out: list[list[str]] = []
    i = 0
    while i < len(units):
        unit = units[i]
        i += 1
        lines = [unit]
        if unit.endswith(":"):
            while i < len(units) and units[i].startswith("- ") and \
                    len(" ".join([*lines, units[i]]).split()) <= max_words:
                lines.append(units[i])
                i += 1
        out.append(lines)
    return out


_ASKS = re.compile(r"[^?]*\?+")


_OPENER = re.compile(r"^\W*(?:(?:and|also|plus|oh|btw|ok|okay|so|then)\W+)*", re.IGNORECASE)
_ASKING = re.compile(r"^(how|what|what's|whats|when|where|who|who's|whom|which|why|can|could|"
                     r"may|do|does|did|is|are|am|should|will|would|must|have|has)\b",
                     re.IGNORECASE)
# Words by which a question leans on something said before it ("and is *that* covered?"):
# a follow-up with one is searched with the question before it (model/followup.py).
POINTING_BACK = ("it", "that", "this", "those", "these", "they", "them", "there", "same")
# A part of a message that points back ("can I carry *them* over?") is not a question of
# its own: searched alone it would find the wrong page.
_POINTS_BACK = re.compile(rf"\b({'|'.join((*POINTING_BACK, 'its', 'their', 'one'))})\b",
                          re.IGNORECASE)


def standalone_questions(question: str) -> list[str]:
    """The questions of a message that each say what they ask about ("how many days of
    leave do I get? and who approves expenses?"), without their openers ("and …"); ``[]``
    unless there are at least two. A part that leans on another ("can I carry them
    over?", "like is it 1x or 2x?") is not one."""
    parts = question_parts(question)
    if len(parts) < 2:
        return []
    out = [_OPENER.sub("", p) for p in parts]
    out = [p for p in out if _ASKING.match(p) and not _POINTS_BACK.search(p)]
    return out if len(out) > 1 else []


def question_parts(question: str) -> list[str]:
    """The separate questions of one message ("how many days do I get? can I carry them
    over?"), each with at least two content words; ``[question]`` when there is one."""
    parts = [m.group(0).strip() for m in _ASKS.finditer(question)]
    parts = [p for p in parts if len(terms(p)) >= 2]
    return parts if len(parts) > 1 else [question]
