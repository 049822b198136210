"""The promotion gate: an adapter that answers worse than the one in service stays out.

Compared on the answer metrics that an adapter can move (retrieval is the same for every
adapter): citing the right document, citing precisely, quotes that are really in the
passages, sentences backed by what they cite, abstaining when the policies don't cover the
question and not otherwise, and not needing the extractive fallback. A metric may drop by
``tolerance`` (absolute) before it counts as worse, because small evaluation sets are
noisy; a metric either side cannot compute (None) is skipped, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GateMetric:
    """A score from ``bot.evaluation`` and which direction is better."""

    key: str
    label: str
    higher_is_better: bool = True


GATE_METRICS = (
    GateMetric("gold_cited", "citation rate (gold document cited)"),
    GateMetric("citation_precision", "citation precision"),
    GateMetric("quote_integrity", "grounded (quotes verbatim)"),
    GateMetric("support_rate", "answer support"),
    GateMetric("abstain_recall", "abstains when not covered"),
    GateMetric("false_abstain_rate", "abstains when covered", higher_is_better=False),
    GateMetric("fallback_rate", "extractive fallback rate", higher_is_better=False),
)
DEFAULT_TOLERANCE = 0.02


@dataclass
class Row:
    """One metric of the comparison; ``ok`` None when either side is missing it."""

    metric: GateMetric
    candidate: float | None
    incumbent: float | None
    ok: bool | None  # None: not comparable

    @property
    def delta(self) -> float | None:
        if self.candidate is None or self.incumbent is None:
            return None
        return round(self.candidate - self.incumbent, 4)


@dataclass
class Verdict:
    """The comparison and whether the candidate may replace what serves now."""

    promotable: bool
    against: str  # what the candidate was compared with
    rows: list[Row] = field(default_factory=list)

    @property
    def worse(self) -> list[str]:
        return [r.metric.key for r in self.rows if r.ok is False]

    def summary(self) -> str:
        if self.promotable:
            return f"promotable: no gate metric worse than {self.against} beyond tolerance"
        return f"not promotable: worse than {self.against} on {', '.join(self.worse)}"


def _number(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def compare(candidate: dict[str, Any], incumbent: dict[str, Any], against: str,
            tolerance: float = DEFAULT_TOLERANCE) -> Verdict:
    """Candidate vs incumbent metrics (``bot.evaluation`` scores); worse on any gate
    metric by more than ``tolerance`` → not promotable."""
    rows = []
    for metric in GATE_METRICS:
        new, old = _number(candidate, metric.key), _number(incumbent, metric.key)
        if new is None or old is None:
            rows.append(Row(metric, new, old, None))
            continue
        change = new - old if metric.higher_is_better else old - new
        rows.append(Row(metric, new, old, change >= -tolerance - 1e-9))
    return Verdict(all(r.ok is not False for r in rows), against, rows)
