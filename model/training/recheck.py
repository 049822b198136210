"""Re-checking an answer's citations against the passages retrieved now.

An answer's ``[n]`` markers mean "the n-th passage I was shown". For a stored answer that
was weeks ago; what counts is the quote it cited, which must still be in a passage of the
same document today. Verbatim, because an adapter must learn to cite text that is there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from model.citations import MARKER, markers
from model.passages import NumberedPassage
from model.prompts import says_not_covered


def quote_in(quote: str, text: str) -> bool:
    """Verbatim, or verbatim once runs of whitespace are folded (a re-wrapped line)."""
    return bool(quote) and (quote in text or " ".join(quote.split()) in " ".join(text.split()))


def renumber(text: str, mapping: dict[int, int]) -> str:
    """Every marker group rewritten with the new numbers (``[1, 3]`` → ``[2][5]``)."""
    def sub(m: re.Match[str]) -> str:
        new = dict.fromkeys(mapping[int(x)] for x in re.split(r"[,;]", m.group(1)))
        return "".join(f"[{n}]" for n in new)
    return MARKER.sub(sub, text)


def is_abstention(answer: str) -> bool:
    """The bot's "not covered" sentence and no citation: a target that needs no passage."""
    return says_not_covered(answer) and not markers(answer)


def retarget(answer: str, citations: list[dict[str, Any]] | None,
             passages: Sequence[NumberedPassage]) -> tuple[str, str]:
    """(``answer`` with markers pointing at ``passages``, "") or ("", why it cannot be).

    ``citations`` None: the markers already are passage numbers (a curated answer written
    against today's retrieval). Otherwise each marker ``[n]`` is citation ``n``, found
    again by its quote in a passage of the same document."""
    used = markers(answer)
    if not used:
        return (answer, "") if is_abstention(answer) else ("", "no_citations")
    if citations is None:
        given = {p.n for p in passages}
        return (answer, "") if set(used) <= given else ("", "marker_unknown")
    mapping: dict[int, int] = {}
    for cite in citations:
        doc = cite.get("doc_id") or ""
        match = next((p for p in passages if (not doc or p.doc_id == doc)
                      and quote_in(str(cite.get("quote") or ""), p.window)), None)
        if match is None:
            if int(cite.get("n", 0)) in used:
                return "", "quote_missing"
            continue
        mapping[int(cite["n"])] = match.n
    if not set(used) <= set(mapping):
        return "", "marker_unknown"
    return renumber(answer, mapping), ""
