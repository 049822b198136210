"""The default generator: no LLM, no GPU. Quotes the sentences that answer, from one place.

Each sentence of the best few passages is scored by the embedding similarity of
"section: sentence" to the question (the heading gives a table row or a terse list item
its meaning), the share of the question's content words it contains, the similarity of
its whole passage, and, for "how many / how much / when / how long" questions, whether it
holds a number.

The answer is then written the way a person would quote a handbook: from the best
sentence's passage only, the best sentence first (the direct fact), preceded by the
sentence that gives it its subject when it leans on one ("It is paid…", a table row
without its lead-in), and followed by an adjacent sentence only when that one answers
too. A table row brings every row of its table that matches the question, as a list.
A second place is quoted only for another question in the same message (each question
gets its best sentence). The text is
the documents' own words, so every claim is supported by construction; no sentence is
said twice.

:meth:`ExtractiveGenerator.draft` also returns the evidence the answerability decision
(``model/answerability.py``) is made from, so the sentences are embedded once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from model.generators.base import Generator
from model.generators.defaults import MAX_CANDIDATES, MAX_SENTENCES, MAX_WORDS
from model.passages import NumberedPassage, Turn
from model.text import TABLE_ROW, overlap, question_parts, terms, unit_lines, unit_text

Embed = Callable[[list[str]], np.ndarray]
_QUANTITY = re.compile(r"\b(how (many|much|long|often|soon|far|late|early)|when|what time|"
                       r"what date|deadline|limit|maximum|minimum|budget|rate|number)\b",
                       re.IGNORECASE)
_NUMBER = re.compile(r"\d")
# A sentence that starts like this takes its subject from the one before it.
_LEANS = re.compile(r"^(it|its|this|that|these|those|they|their|them|such|he|she|also|"
                    r"however|but|otherwise|in (that|this|which) case|if so|then|there)\b",
                    re.IGNORECASE)
# Questions answered by a yes or no (with its condition): the deciding sentence goes first.
_DIRECT = re.compile(r"^\W*(can|could|may|do|does|did|is|are|am|should|will|would|must|"
                     r"have|has)\b", re.IGNORECASE)
MAX_TABLE_ROWS = 12


@dataclass
class Candidate:
    n: int
    rank: int  # passage position
    position: int  # unit position in the passage
    text: str
    score: float = 0.0
    similarity: float = 0.0  # embedding similarity of "section: text" to the question
    part_scores: list[float] = field(default_factory=list)  # per question of the message
    lines: list[str] = field(default_factory=list)  # the source lines shown (lead-in + items)


@dataclass
class Draft:
    """An extractive answer and what it was chosen from."""

    text: str  # with [n] markers, "" when nothing was usable
    picked: list[Candidate]
    ranked: list[Candidate]
    units: dict[int, list[str]]  # passage number → its units, for neighbours
    wants_number: bool = False




class ExtractiveGenerator(Generator):
    name = "extractive"
    streams = False
    uses_llm = False

    def __init__(self, embed: Embed, max_sentences: int = MAX_SENTENCES,
                 max_words: int = MAX_WORDS,
                 lexical_weight: float = 0.35, passage_weight: float = 0.3,
                 number_bonus: float = 0.15, keep_ratio: float = 0.85,
                 max_candidates: int = MAX_CANDIDATES) -> None:
        self.embed = embed
        self.max_sentences, self.max_words = max_sentences, max_words
        self.lexical_weight, self.passage_weight = lexical_weight, passage_weight
        self.number_bonus, self.keep_ratio = number_bonus, keep_ratio
        self.max_candidates = max_candidates

    def candidates(self, question: str, passages: Sequence[NumberedPassage],
                   parts: Sequence[str], lines: dict[int, list[list[str]]],
                   units: dict[int, list[str]]) -> list[Candidate]:
        """Every usable sentence of the passages, scored against the question (and against
        each extra question ``parts``, in ``part_scores``). ``lines`` and ``units``: each
        passage split once by :meth:`draft`."""
        seen: set[str] = set()
        cands: list[Candidate] = []
        for rank, p in enumerate(passages):
            shown = lines[p.n]
            for pos, s in enumerate(units[p.n]):
                key = _key(s)
                if key in seen or len(s.split()) < 4 or s.rstrip().endswith(":") and \
                        len(s.split()) < 8:
                    continue  # duplicates from chunk overlap, cross-references, lead-ins
                seen.add(key)
                cands.append(Candidate(p.n, rank, pos, s, lines=shown[pos]))
        if not cands:
            return []
        q_terms = terms(question)
        sections = {p.n: " › ".join(p.section.split(" › ")[-2:]) for p in passages}
        # A unit is read with its heading, for words as for meaning: a table row's
        # "25 working days" answers "how many days of annual leave" under "Annual leave".
        words = {id(c): terms(f"{sections[c.n]} {c.text}") for c in cands}
        cands = self._shortlist(cands, q_terms | {t for part in parts for t in terms(part)},
                                words)
        vectors = self.embed([question, *parts]
                             + [_clip(f"{sections[c.n]}: {c.text}") for c in cands])
        heads, rest = vectors[: 1 + len(parts)], vectors[1 + len(parts):]
        passage_sim = {p.n: p.similarity or 0.0 for p in passages}
        wants_number = bool(_QUANTITY.search(question))
        for c, vec in zip(cands, rest, strict=True):
            sims = heads @ vec
            c.similarity = float(sims[0])
            common = self.passage_weight * passage_sim[c.n] - 0.01 * c.rank
            number = self.number_bonus if wants_number and _NUMBER.search(c.text) else 0.0
            c.score = c.similarity + self.lexical_weight * overlap(q_terms, words[id(c)]) \
                + common + number
            c.part_scores = [float(s) + self.lexical_weight * overlap(part, words[id(c)])
                             + common for s, part in zip(sims[1:], parts, strict=True)]
        return sorted(_hand_off_questions(cands, units, lines), key=lambda c: -c.score)

    def _shortlist(self, cands: list[Candidate], q_terms: set[str],
                   words: dict[int, set[str]]) -> list[Candidate]:
        """Embedding every sentence of long passages is what makes answers slow on a CPU;
        keep the ones sharing the most question words, then the earliest of the best
        passages, up to ``max_candidates``."""
        if len(cands) <= self.max_candidates:
            return cands
        ranked = sorted(cands, key=lambda c: (-overlap(q_terms, words[id(c)]), c.rank,
                                              c.position))
        return ranked[: self.max_candidates]

    def draft(self, question: str, passages: Sequence[NumberedPassage]) -> Draft:
        """The answer, the candidates it was chosen from and the passages' units."""
        parts = question_parts(question)
        parts = parts if len(parts) > 1 else []
        lines = {p.n: unit_lines(p.window) for p in passages}  # split each passage once
        units = {n: [unit_text(ls) for ls in shown] for n, shown in lines.items()}
        ranked = self.candidates(question, passages, parts, lines, units)
        picked = self.select(ranked, units, question, len(parts))
        text = "\n".join(_line(c) for c in picked)
        return Draft(text, picked, ranked, units, bool(_QUANTITY.search(question)))

    def select(self, ranked: list[Candidate], units: dict[int, list[str]] | None = None,
               question: str = "", parts: int = 0) -> list[Candidate]:
        """The sentences to quote, in the order they are said (see the module docstring)."""
        if not ranked:
            return []
        best = ranked[0]
        own = (units or {}).get(best.n) or [best.text]
        by_position = {c.position: c for c in ranked if c.n == best.n}
        if TABLE_ROW.match(best.text) and best.position < len(own) and \
                own[best.position] == best.text:
            picked = _table(best, own, question)
        else:
            picked = [best]
            if 0 < best.position < len(own) and (_LEANS.match(best.text)
                                                 or _asks(own[best.position - 1])):
                picked.insert(0, Candidate(best.n, best.rank, best.position - 1,
                                           own[best.position - 1]))
            words = sum(len(c.text.split()) for c in picked)
            for near in sorted(by_position.values(), key=lambda c: -c.score):
                if len(picked) >= self.max_sentences or \
                        near.score < best.score * self.keep_ratio:
                    break
                if any(c.position == near.position for c in picked) or \
                        words + len(near.text.split()) > self.max_words:
                    continue
                picked.append(near)
                words += len(near.text.split())
            if _DIRECT.match(question) or _QUANTITY.search(question):
                # a yes/no or a number: the best sentence is the direct fact, said first
                lead = picked[: picked.index(best) + 1]
                picked = lead + sorted(picked[len(lead):], key=lambda c: c.position)
            else:  # how to / what to do: the steps in the document's order
                picked.sort(key=lambda c: c.position)
        for i in range(parts):  # each question of the message gets its own best sentence
            scored = [c for c in ranked if len(c.part_scores) > i]
            if not scored:
                break
            top = max(scored, key=lambda c: c.part_scores[i])
            if _key(top.text) not in {_key(c.text) for c in picked} and \
                    top.part_scores[i] >= best.score * self.keep_ratio * 0.9:
                picked.append(top)
        out, seen = [], set()
        for c in picked:  # never the same sentence twice
            if _key(c.text) not in seen:
                seen.add(_key(c.text))
                out.append(c)
        return out

    def generate(self, question: str, passages: Sequence[NumberedPassage],
                 history: Sequence[Turn] = ()) -> Iterator[str]:
        yield self.draft(question, passages).text


def _asks(unit: str) -> bool:
    return unit.rstrip().endswith("?")


def _hand_off_questions(cands: list[Candidate], units: dict[int, list[str]],
                        lines: dict[int, list[list[str]]]) -> list[Candidate]:
    """A handbook's own question ("Have issues with reimbursements?") is often the best
    match for an employee's, yet answers nothing: the unit after it does. That unit takes
    the question's score when higher (``select`` then quotes the question before it, as
    the FAQ reads); the question is never quoted on its own."""
    by_place = {(c.n, c.position): c for c in cands}
    out = [c for c in cands if not _asks(c.text)]
    for q in cands:
        own = units.get(q.n, [])
        after = q.position + 1
        if not _asks(q.text) or after >= len(own) or _asks(own[after]):
            continue
        answer = by_place.get((q.n, after))
        if answer is None:
            answer = by_place[(q.n, after)] = Candidate(q.n, q.rank, after, own[after],
                                                        lines=lines[q.n][after])
            out.append(answer)
        if q.score > answer.score:
            answer.score, answer.similarity = q.score, q.similarity
            answer.part_scores = list(q.part_scores)
    return out


def _table(best: Candidate, units: list[str], question: str) -> list[Candidate]:
    """The table ``best`` is a row of: its lead-in sentence and every row that matches.

    A row matches when it holds the question's words that are not header words ("in
    Portugal"); when no row does, the question is about the whole table ("how many days
    do I get?") and every row is given."""
    start = end = best.position
    while start > 0 and TABLE_ROW.match(units[start - 1]):
        start -= 1
    while end + 1 < len(units) and TABLE_ROW.match(units[end + 1]):
        end += 1
    rows = list(range(start, end + 1))
    header = terms(" ".join(k for r in rows for k in re.findall(r"(?:^|; )([^:;]+):",
                                                                 units[r])))
    wanted = terms(question) - header
    hits = {r: len(wanted & (terms(units[r]) - header)) for r in rows}
    top = max(hits.values())
    if top > 0 and any(v < top for v in hits.values()):
        rows = [r for r in rows if hits[r] == top]
    rows = rows[:MAX_TABLE_ROWS]
    out = []
    lead = _table_lead(units, start, header)
    if lead is not None:
        out.append(Candidate(best.n, best.rank, lead, units[lead]))
    out += [Candidate(best.n, best.rank, r, units[r], score=best.score if r == best.position
                      else 0.0) for r in rows]
    return out


def _table_lead(units: list[str], start: int, header: set[str]) -> int | None:
    """The sentence before the table that says what it is: of the three before it, the
    one sharing the most words with its column headers (none when none shares any)."""
    best, best_hits = None, 0
    for pos in range(start - 1, max(-1, start - 4), -1):
        if TABLE_ROW.match(units[pos]):
            break
        hits = len(terms(units[pos]) & header)
        if hits > best_hits:
            best, best_hits = pos, hits
    return best


def _key(text: str) -> str:
    return " ".join(text.lower().removeprefix("- ").rstrip(".").split())


def _clip(text: str, words: int = 48) -> str:
    """Batches are padded to their longest text: one 250-word "sentence" (a code block, a
    giant table row) would make every other one cost as much. Its opening words carry
    the meaning anyway."""
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words])


def _line(c: Candidate) -> str:
    """One quoted unit with its marker; a table row is a list item on its own line, and a
    lead-in keeps its list items, one per line, as the document has them."""
    if len(c.lines) > 1:
        *head, last = c.lines
        return "\n".join([*head, f"{_sentence(last, keep_item=True)} [{c.n}]"])
    if TABLE_ROW.match(c.text):
        return f"- {_sentence(c.text)} [{c.n}]"
    return f"{_sentence(c.text)} [{c.n}]"


def _sentence(text: str, keep_item: bool = False) -> str:
    item = keep_item and text.strip().startswith("- ")
    text = text.strip().removeprefix("- ").strip()
    text = text if text[-1:] in ".!?:" else text + "."
    return f"- {text}" if item else text
