"""Whether an extractive draft answers the question, and whether retrieval found anything.

Two decisions, both fitted on the dev split of ``data/qa/slack-dev`` by one script,
``bench/fit_answerability.py``, which writes every number into ``answerability.json``
next to this module (the one place they live; re-run the script after retrieval or the
extractive generator changes):

- the **gate** (``gate_score`` < ``gate``): retrieval found nothing plausibly relevant.
  Fitted to turn away at most 2 % of answerable dev questions, so it only stops the
  hopeless cases and leaves the judgement to the generator that reads the passages;
- the **extractive decision** (``probability`` ≥ ``answer_threshold``): a small logistic
  regression over evidence that cosine alone does not give — how well the best
  *sentence* matches, whether the question's key terms sit near that sentence, whether
  the vector and keyword retrievers agree on the best passage, the margin of the best
  document over the next, and whether a number was asked for and found. Below the
  threshold the answer is shown as evidence ("the closest the handbook comes"), never
  as an answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from model.generators.extractive import Draft
from model.passages import NumberedPassage
from model.text import overlap, terms

PARAMS = Path(__file__).resolve().parent / "answerability.json"
FEATURES = ("sentence_similarity", "sentence_terms", "terms_near", "passage_similarity",
            "doc_margin", "retrievers_agree", "number_missing")


@dataclass(frozen=True)
class Params:
    gate: float  # gate_score below this: nothing plausibly relevant
    coverage_weight: float
    mean: tuple[float, ...]  # feature standardisation
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    answer_threshold: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Params:
        return cls(gate=float(d["gate"]), coverage_weight=float(d["coverage_weight"]),
                   mean=tuple(d["mean"]), scale=tuple(d["scale"]),
                   weights=tuple(d["weights"]), bias=float(d["bias"]),
                   answer_threshold=float(d["answer_threshold"]))


@lru_cache(maxsize=1)
def load_params(path: Path = PARAMS) -> Params:
    data = json.loads(path.read_text(encoding="utf-8"))
    if list(data["features"]) != list(FEATURES):
        raise ValueError(f"{path} was fitted on other features; re-run "
                         "bench/fit_answerability.py")
    return Params.from_dict(data)


def gate_score(query: str, passages: Sequence[NumberedPassage], weight: float,
               top: int = 3) -> float:
    """Best passage cosine plus ``weight`` × the best share of the question's content words
    in one of the top passages: cheap, and low only when nothing is near the question."""
    if not passages:
        return 0.0
    best = max(p.similarity or 0.0 for p in passages)
    wanted = terms(query)
    cover = max(overlap(wanted, p.window) for p in passages[:top])
    return best + weight * cover


def features(question: str, draft: Draft, passages: Sequence[NumberedPassage]
             ) -> list[float]:
    """The evidence for "this draft answers the question", in the order of FEATURES."""
    if not draft.picked or not draft.ranked:
        return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    best = draft.ranked[0]
    wanted = terms(question)
    own = draft.units.get(best.n, [])
    near = " ".join(own[max(0, best.position - 1): best.position + 2]) or best.text
    section = next((p.section for p in passages if p.n == best.n), "")
    by_doc: dict[str, float] = {}
    for p in passages:
        by_doc[p.doc_id] = max(by_doc.get(p.doc_id, -1.0), p.similarity or 0.0)
    best_doc = next((p.doc_id for p in passages if p.n == best.n), "")
    others = [s for d, s in by_doc.items() if d != best_doc]
    margin = by_doc.get(best_doc, 0.0) - (max(others) if others else 0.0)
    return [best.similarity, overlap(wanted, best.text),
            overlap(wanted, f"{section} {near}"), _passage_sim(passages, best.n),
            margin, _agree(passages, best.n),
            float(draft.wants_number and not any(ch.isdigit() for c in draft.picked
                                                 for ch in c.text))]


def _passage_sim(passages: Sequence[NumberedPassage], n: int) -> float:
    return next((p.similarity or 0.0 for p in passages if p.n == n), 0.0)


def _agree(passages: Sequence[NumberedPassage], n: int) -> float:
    """1 when the answer's passage is the best of both retrievers, ½ of one, else 0."""
    vec = [p for p in passages if p.similarity is not None]
    kw = [p for p in passages if p.keyword_score is not None]
    score = 0.0
    if vec and max(vec, key=lambda p: p.similarity or 0.0).n == n:
        score += 0.5
    if kw and max(kw, key=lambda p: p.keyword_score or 0.0).n == n:
        score += 0.5
    return score


def probability(x: Sequence[float], params: Params) -> float:
    z = params.bias + sum(w * (v - m) / s for w, v, m, s in
                          zip(params.weights, x, params.mean, params.scale, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
