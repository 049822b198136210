"""The default generator: no LLM, no GPU. Picks the passage sentences that answer.

Each sentence is scored by the embedding similarity of "section: sentence" to the
question (the heading gives a table row or a terse list item its meaning), the share of
the question's content words it contains, the similarity of its whole passage, and, for
"how many / how much / when / how long" questions, whether it holds a number. The best
few, within a length budget, are stitched into a short answer in reading order, each
citing its passage. The text is the documents' own words, so every claim is supported
by construction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from model.generators.base import Generator
from model.passages import NumberedPassage, Turn
from model.text import answer_units, overlap, terms

Embed = Callable[[list[str]], np.ndarray]
_QUANTITY = re.compile(r"\b(how (many|much|long|often|soon|far|late|early)|when|what time|"
                       r"what date|deadline|limit|maximum|minimum|budget|rate|number)\b",
                       re.IGNORECASE)
_NUMBER = re.compile(r"\d")


@dataclass
class Candidate:
    n: int
    rank: int  # passage position
    position: int  # sentence position in the passage
    text: str
    score: float = 0.0


class ExtractiveGenerator(Generator):
    name = "extractive"
    streams = False
    uses_llm = False

    def __init__(self, embed: Embed, max_sentences: int = 3, max_words: int = 90,
                 lexical_weight: float = 0.35, passage_weight: float = 0.3,
                 number_bonus: float = 0.15, keep_ratio: float = 0.8,
                 max_candidates: int = 32) -> None:
        self.embed = embed
        self.max_sentences, self.max_words = max_sentences, max_words
        self.lexical_weight, self.passage_weight = lexical_weight, passage_weight
        self.number_bonus, self.keep_ratio = number_bonus, keep_ratio
        self.max_candidates = max_candidates

    def candidates(self, question: str, passages: Sequence[NumberedPassage]) -> list[Candidate]:
        """Every usable sentence of the passages, scored against the question."""
        seen: set[str] = set()
        cands: list[Candidate] = []
        for rank, p in enumerate(passages):
            for pos, s in enumerate(answer_units(p.window)):
                key = " ".join(s.lower().split())
                if key in seen or len(s.split()) < 4 or s.rstrip().endswith(":") and \
                        len(s.split()) < 8:
                    continue  # duplicates from chunk overlap, cross-references, lead-ins
                seen.add(key)
                cands.append(Candidate(p.n, rank, pos, s))
        if not cands:
            return []
        q_terms = terms(question)
        cands = self._shortlist(cands, q_terms)
        sections = {p.n: " › ".join(p.section.split(" › ")[-2:]) for p in passages}
        vectors = self.embed([question] + [_clip(f"{sections[c.n]}: {c.text}") for c in cands])
        sims = vectors[1:] @ vectors[0]
        passage_sim = {p.n: p.similarity or 0.0 for p in passages}
        wants_number = bool(_QUANTITY.search(question))
        for c, sim in zip(cands, sims, strict=True):
            c.score = (float(sim) + self.lexical_weight * overlap(q_terms, c.text)
                       + self.passage_weight * passage_sim[c.n] - 0.01 * c.rank
                       + (self.number_bonus if wants_number and _NUMBER.search(c.text)
                          else 0.0))
        return sorted(cands, key=lambda c: -c.score)

    def _shortlist(self, cands: list[Candidate], q_terms: set[str]) -> list[Candidate]:
        """Embedding every sentence of long passages is what makes answers slow on a CPU;
        keep the ones sharing the most question words, then the earliest of the best
        passages, up to ``max_candidates``."""
        if len(cands) <= self.max_candidates:
            return cands
        ranked = sorted(cands, key=lambda c: (-overlap(q_terms, c.text), c.rank, c.position))
        return ranked[: self.max_candidates]

    def select(self, ranked: list[Candidate]) -> list[Candidate]:
        if not ranked:
            return []
        best = ranked[0].score
        picked, words = [ranked[0]], len(ranked[0].text.split())
        for c in ranked[1:]:
            if len(picked) >= self.max_sentences or c.score < best * self.keep_ratio:
                break
            if words + len(c.text.split()) > self.max_words:
                continue
            picked.append(c)
            words += len(c.text.split())
        return sorted(picked, key=lambda c: (c.rank, c.position))

    def generate(self, question: str, passages: Sequence[NumberedPassage],
                 history: Sequence[Turn] = ()) -> Iterator[str]:
        picked = self.select(self.candidates(question, passages))
        yield " ".join(f"{_sentence(c.text)} [{c.n}]" for c in picked)


def _clip(text: str, words: int = 48) -> str:
    """Batches are padded to their longest text: one 250-word "sentence" (a code block, a
    giant table row) would make every other one cost as much. Its opening words carry
    the meaning anyway."""
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words])


def _sentence(text: str) -> str:
    text = text.strip().removeprefix("- ").strip()
    return text if text[-1:] in ".!?:" else text + "."
