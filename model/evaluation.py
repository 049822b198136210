"""Answer-quality metrics over a QA set with gold documents.

Pure computation: the runner (``policybot eval``) produces one :class:`Outcome` per
question, whatever system answered it, so PolicyBot and a baseline are scored alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Outcome:
    gold: list[str]  # gold document keys; empty: the policies do not cover the question
    retrieved: list[str]  # document keys of the passages retrieved
    cited: list[str]  # document keys cited by the answer
    abstained: bool
    quotes_verbatim: list[bool] = field(default_factory=list)  # one per citation
    sentences_supported: list[bool] = field(default_factory=list)
    latency_ms: float = 0.0


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def score(outcomes: Sequence[Outcome]) -> dict[str, float | int | None]:
    answerable = [o for o in outcomes if o.gold]
    unanswerable = [o for o in outcomes if not o.gold]
    answered = [o for o in answerable if not o.abstained]
    cited_total = sum(len(o.cited) for o in answered)
    cited_gold = sum(sum(c in o.gold for c in o.cited) for o in answered)
    abstain_tp = sum(o.abstained for o in unanswerable)
    abstain_pred = sum(o.abstained for o in outcomes)
    quotes = [q for o in outcomes for q in o.quotes_verbatim]
    support = [s for o in outcomes for s in o.sentences_supported]
    latencies = sorted(o.latency_ms for o in outcomes)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0
    return {
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
