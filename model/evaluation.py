"""Answer-quality metrics over a QA set with gold documents.

Pure computation: the runner (``policybot eval``) produces one :class:`Outcome` per
question, whatever system answered it, so PolicyBot and a baseline are scored alike.

Besides the classic retrieval/citation/abstention metrics, :func:`score` reports the
measures users feel, per outcome (answered / evidence / not covered):

- ``answered_gold``: answerable questions answered citing a gold document;
- ``turned_away``: answerable questions told "not covered" (or "I can't tell");
- ``answered_or_evidence_gold``: answerable questions answered citing a gold document,
  or shown evidence that quotes one;
- ``not_covered_answered``: questions the documents don't cover, answered confidently;
- ``answered_gold_sentence``: answerable questions whose record names the sentence that
  answers (``gold_quote``), answered citing a gold document with that sentence's content
  words (at least :data:`GOLD_SENTENCE_SHARE` of them) in the answer: the right page is
  not enough when the quoted sentence is the wrong one of it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from model.answer import ANSWERED, EVIDENCE, NOT_COVERED
from model.text import overlap, terms

UNCLEAR = "unclear"  # the question was turned back ("I can't tell what you're asking")
GOLD_SENTENCE_SHARE = 0.8


@dataclass
class Outcome:
    gold: list[str]  # gold document keys; empty: the policies do not cover the question
    retrieved: list[str]  # document keys of the passages retrieved
    cited: list[str]  # document keys cited by the answer
    abstained: bool
    quotes_verbatim: list[bool] = field(default_factory=list)  # one per citation/evidence
    sentences_supported: list[bool] = field(default_factory=list)
    latency_ms: float = 0.0
    outcome: str = ""  # ANSWERED | EVIDENCE | NOT_COVERED | UNCLEAR; "" → from abstained
    evidence: list[str] = field(default_factory=list)  # document keys quoted as evidence
    kind: str = ""  # the question's kind, when the QA set has one
    fell_back: bool = False  # the LLM's answer was unusable; the extractive one was given
    # the answer's text holds the record's gold sentence (``gold_quote``, by
    # :func:`holds_quote`); None: the record names none
    holds_gold_quote: bool | None = None

    def __post_init__(self) -> None:
        if not self.outcome:
            self.outcome = NOT_COVERED if self.abstained else ANSWERED


def holds_quote(gold_quote: str, text: str) -> bool:
    """Whether ``text`` says what ``gold_quote`` says: most of its content words."""
    return bool(terms(gold_quote)) and overlap(gold_quote, text) >= GOLD_SENTENCE_SHARE


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _gold_answered(o: Outcome) -> bool:
    return o.outcome == ANSWERED and any(c in o.gold for c in o.cited)


def score(outcomes: Sequence[Outcome]) -> dict[str, float | int | None]:
    answerable = [o for o in outcomes if o.gold]
    unanswerable = [o for o in outcomes if not o.gold]
    answered = [o for o in answerable if not o.abstained]
    cited_total = sum(len(o.cited) for o in answered)
    cited_gold = sum(sum(c in o.gold for c in o.cited) for o in answered)
    abstain_tp = sum(o.abstained for o in unanswerable)
    abstain_pred = sum(o.abstained for o in outcomes)
    quotes = [q for o in outcomes for q in o.quotes_verbatim]
    quoted = [o for o in answerable if o.holds_gold_quote is not None]
    support = [s for o in outcomes for s in o.sentences_supported]
    latencies = sorted(o.latency_ms for o in outcomes)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0
    return {
        "questions": len(outcomes),
        "answered": _ratio(sum(o.outcome == ANSWERED for o in outcomes), len(outcomes)),
        "evidence": _ratio(sum(o.outcome == EVIDENCE for o in outcomes), len(outcomes)),
        "not_covered": _ratio(sum(o.outcome in (NOT_COVERED, UNCLEAR) for o in outcomes),
                              len(outcomes)),
        "answered_gold": _ratio(sum(map(_gold_answered, answerable)), len(answerable)),
        "turned_away": _ratio(sum(o.outcome in (NOT_COVERED, UNCLEAR) for o in answerable),
                              len(answerable)),
        "answered_or_evidence_gold": _ratio(sum(
            _gold_answered(o) or (o.outcome == EVIDENCE and any(e in o.gold for e in o.evidence))
            for o in answerable), len(answerable)),
        "not_covered_answered": _ratio(sum(o.outcome == ANSWERED for o in unanswerable),
                                       len(unanswerable)),
        "answered_gold_sentence": _ratio(
            sum(_gold_answered(o) and bool(o.holds_gold_quote) for o in quoted), len(quoted)),
        "retrieval_recall": _ratio(sum(any(g in o.retrieved for g in o.gold)
                                       for o in answerable), len(answerable)),
        "gold_cited": _ratio(sum(any(c in o.gold for c in o.cited) for o in answered),
                             len(answerable)),
        "citation_precision": _ratio(cited_gold, cited_total),
        "citation_recall": _ratio(sum(len(set(o.cited) & set(o.gold)) / len(set(o.gold))
                                      for o in answerable if not o.abstained),
                                  len(answerable)),
        "abstain_precision": _ratio(abstain_tp, abstain_pred),
        "abstain_recall": _ratio(abstain_tp, len(unanswerable)),
        "false_abstain_rate": _ratio(len(answerable) - len(answered), len(answerable)),
        "quote_integrity": _ratio(sum(quotes), len(quotes)),
        "support_rate": _ratio(sum(support), len(support)),
        "latency_median_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "latency_p95_ms": round(p95, 1),
    }


def by_kind(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float | int | None]]:
    """:func:`score` for each question kind (only when the QA set names kinds)."""
    kinds = sorted({o.kind for o in outcomes if o.kind})
    return {k: score([o for o in outcomes if o.kind == k]) for k in kinds}
