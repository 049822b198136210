"""Flags answer sentences that their cited passages do not back.

A sentence is scored against the sentences of the passages it cites: the best cosine
similarity of their embeddings, and the share of its content words found in those
passages. Paraphrase keeps the first high, copied numbers and names keep the second
high; an invented claim scores low on both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from model.answer import AnswerSentence
from model.passages import NumberedPassage
from model.text import overlap, sentences

if TYPE_CHECKING:  # the settings import the threshold: no numpy on `--help` or `init`
    import numpy as np

SUPPORT_THRESHOLD = 0.64  # chosen on the dev split by bench/support.py


class SupportChecker:
    def __init__(self, embed: Callable[[list[str]], np.ndarray],
                 threshold: float = SUPPORT_THRESHOLD,
                 lexical_weight: float = 0.5) -> None:
        self.embed, self.threshold, self.lexical_weight = embed, threshold, lexical_weight

    def check(self, answer: list[AnswerSentence], cited: dict[int, list[NumberedPassage]]
              ) -> None:
        """Set ``support`` and ``supported`` on every sentence that carries citations."""
        todo = [(s, [x for n in s.citations for p in cited.get(n, []) for x in sentences(p.window)])
                for s in answer if s.citations]
        todo = [(s, src) for s, src in todo if src]
        if not todo:
            return
        texts = [s.text for s, _ in todo] + [x for _, src in todo for x in src]
        vectors = self.embed(texts)
        claims, rest = vectors[: len(todo)], vectors[len(todo):]
        offset = 0
        for (sentence, src), claim in zip(todo, claims, strict=True):
            block = rest[offset: offset + len(src)]
            offset += len(src)
            semantic = float((block @ claim).max())
            lexical = overlap(sentence.text, " ".join(src))
            w = self.lexical_weight
            sentence.support = round((1 - w) * semantic + w * lexical, 4)
            sentence.supported = sentence.support >= self.threshold


def cited_passages(numbering: dict[str, int], passages: Sequence[NumberedPassage]
                   ) -> dict[int, list[NumberedPassage]]:
    """New citation number → the passages of its document that were given."""
    out: dict[int, list[NumberedPassage]] = {}
    for p in passages:
        if p.doc_id in numbering:
            out.setdefault(numbering[p.doc_id], []).append(p)
    return out
