"""Citation discipline, enforced after generation whatever the generator did.

Only passages the generator was given can be cited; unknown numbers are dropped;
several passages of one document become one citation; citations are renumbered by first
use; every quote is a verbatim span of a cited passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from model.answer import AnswerSentence, Citation
from model.passages import NumberedPassage
from model.text import sentences, terms

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
END = re.compile(r"[.!?](?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s|$)")
MAX_QUOTE_CHARS = 300


@dataclass
class Resolved:
    text: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    dropped: list[int]  # marker numbers that named no given passage


def markers(text: str) -> list[int]:
    """Every citation number in ``text``, in order (``[1, 3]`` gives 1 and 3)."""
    return [int(x) for m in MARKER.finditer(text) for x in re.split(r"[,;]", m.group(1))]


def split_marked(text: str) -> list[tuple[str, list[int]]]:
    """Sentences with the marker numbers attached to each (markers removed)."""
    return [(clean, numbers) for clean, numbers, _ in _split(text)]


def _split(text: str) -> list[tuple[str, list[int], bool]]:
    """:func:`split_marked`, with whether each sentence starts a line of its own (a list
    item, or a sentence after one): answers that are lists stay lists."""
    parts, start = [], 0
    for m in END.finditer(text):
        parts.append(text[start:m.end()])
        start = m.end()
    parts.append(text[start:])
    out = []
    for part in parts:
        numbers = markers(part)
        clean = re.sub(r"[ \t]+([.!?,;:])", r"\1", MARKER.sub("", part))
        # a list keeps its lines ("- " items); any other line break is a space
        clean = re.sub(r"\s*\n\s*(?=- )", "\n", clean.strip())
        clean = " ".join(clean.replace("\n- ", "\x00- ").split()).replace("\x00", "\n")
        if clean:
            out.append((clean, numbers, part.lstrip(" \t").startswith("\n")))
    return out


def resolve(text: str, passages: Sequence[NumberedPassage]) -> Resolved:
    """Validate, merge and renumber the markers of ``text`` against ``passages``."""
    given = {p.n: p for p in passages}
    marked = _split(text)
    canonical: dict[str, int] = {}  # doc_id → first passage number cited for it
    order: list[str] = []
    dropped: list[int] = []
    for _, numbers, _ in marked:
        for n in numbers:
            if n not in given:
                dropped.append(n)
                continue
            doc = given[n].doc_id
            if doc not in canonical:
                canonical[doc] = n
                order.append(doc)
    new_number = {doc: i for i, doc in enumerate(order, start=1)}
    out_sentences, pieces = [], []
    cited_by: dict[str, list[str]] = {doc: [] for doc in order}
    used: dict[str, set[int]] = {doc: set() for doc in order}
    for clean, numbers, own_line in marked:
        newline = "\n" if own_line and pieces else ""
        docs = []
        for n in numbers:
            if n in given and given[n].doc_id not in docs:
                docs.append(given[n].doc_id)
                used[given[n].doc_id].add(n)
        nums = [new_number[d] for d in docs]
        for d in docs:
            cited_by[d].append(clean)
        out_sentences.append(AnswerSentence(clean, nums))
        pieces.append(newline + with_markers(clean, nums))
    citations = [_citation(new_number[doc], [given[n] for n in sorted(used[doc])],
                           cited_by[doc]) for doc in order]
    joined = " ".join(pieces).replace(" \n", "\n")
    return Resolved(joined, out_sentences, citations, dropped)


def with_markers(sentence: str, numbers: list[int]) -> str:
    """A sentence with its markers before the final stop, as answers are written."""
    if not numbers:
        return sentence
    marks = "".join(f"[{n}]" for n in numbers)
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1]} {marks}{sentence[-1]}"
    return f"{sentence} {marks}"


def best_quote(passages: Sequence[NumberedPassage], claims: Sequence[str]) -> str:
    """The passage sentence that best matches the claims citing it, verbatim."""
    return quote_and_passage(passages, claims)[0]


def quote_and_passage(passages: Sequence[NumberedPassage], claims: Sequence[str]
                      ) -> tuple[str, NumberedPassage | None]:
    """:func:`best_quote`, with the passage it was taken from (None when no passage has
    a sentence): the citation links to where the quote is, not to the first passage."""
    claim_terms = terms(" ".join(claims))
    best, best_score, source = "", -1.0, None
    for p in passages:
        for s in sentences(p.window):
            score = len(claim_terms & terms(s)) + (0.5 if any(c.rstrip(".") in s
                                                               for c in claims) else 0)
            if score > best_score:
                best, best_score, source = s, score, p
    if len(best) > MAX_QUOTE_CHARS:
        cut = best.rfind(" ", 0, MAX_QUOTE_CHARS)
        best = best[: cut if cut > 0 else MAX_QUOTE_CHARS]
    return best, source


def cite(n: int, passage: NumberedPassage, quote: str = "") -> Citation:
    """The citation of ``quote`` in ``passage``: its document, the link and heading path
    of the section that holds the quote, the version and date readers are shown, and
    the source's links whose text the quote holds (rendered as links; the quote itself
    stays verbatim, so quote checks hold).
    Every citation is built here."""
    url, section = passage.where(quote)
    return Citation(n=n, title=passage.title, url=url, source=passage.source,
                    path=passage.path, section=section, quote=quote,
                    doc_version=passage.doc_version, doc_id=passage.doc_id,
                    doc_date=passage.doc_date, version_label=passage.version_label,
                    dated_by=passage.dated_by,
                    links=[(t, u) for t, u in passage.links if quote and t in quote])


def _citation(n: int, passages: list[NumberedPassage], claims: list[str]) -> Citation:
    quote, source = quote_and_passage(passages, claims)
    return cite(n, source or passages[0], quote)


def related(passages: Sequence[NumberedPassage], limit: int = 3) -> list[Citation]:
    """The nearest documents, for "might be related" when the bot abstains (no quotes)."""
    out: list[Citation] = []
    seen: set[str] = set()
    for p in passages:
        if p.doc_id in seen:
            continue
        seen.add(p.doc_id)
        out.append(cite(len(out) + 1, p))
        if len(out) == limit:
            break
    return out
