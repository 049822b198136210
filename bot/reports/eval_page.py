"""``policybot eval --html``: the run as one page, and ``--details`` as JSONL.

Per question: what was asked, the outcome, the gold documents beside the cited or quoted
ones, the quotes and the latency; per question kind: how the outcomes split; and the
answerability plot (:mod:`bot.reports.plot`). The numbers come from the same run that
prints the metrics, so the page and the table never disagree.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.reports.pages import render
from bot.reports.plot import strip_plot
from model.answer import OUTCOMES
from model.evaluation import UNCLEAR

OUTCOME_ORDER = (*OUTCOMES, UNCLEAR)
METRICS = (("answered_gold", "answerable questions answered citing a gold document"),
           ("answered_or_evidence_gold", "… answered or shown evidence from a gold document"),
           ("turned_away", "answerable questions told “not covered”"),
           ("not_covered_answered", "not-covered questions answered confidently"),
           ("answered_gold_sentence", "… answered with the sentence that answers (QA sets "
                                      "with a gold_quote)"),
           ("retrieval_recall", "answerable questions with a gold passage retrieved"),
           ("quote_integrity", "quotes found verbatim in the passages"))


def outcome_breakdown(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per question kind (and "all"): how many questions ended in each outcome, and how
    many of the answerable ones reached a gold document."""
    kinds = sorted({d["kind"] for d in details if d["kind"]})
    out = []
    for kind in [*kinds, ""]:
        group = [d for d in details if d["kind"] == kind or not kind]
        counts = Counter(d["outcome"] for d in group)
        answerable = [d for d in group if d["gold"]]
        out.append({"kind": kind or "all", "questions": len(group),
                    "counts": [(o, counts.get(o, 0)) for o in OUTCOME_ORDER],
                    "answerable": len(answerable),
                    "gold_hit": sum(d["gold_hit"] for d in answerable)})
    return out


def eval_html(report: dict[str, Any], details: list[dict[str, Any]], *,
              title: str = "PolicyBot evaluation", generated: datetime | None = None) -> str:
    """The self-contained page for one ``policybot eval`` run."""
    threshold = float(report.get("answer_threshold", 0.5))
    systems = report["systems"]
    return render("eval.html.j2", title=title,
                  generated=(generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
                  report=report, details=details, breakdown=outcome_breakdown(details),
                  outcomes=OUTCOME_ORDER, plot=strip_plot(details, threshold),
                  metrics=[(key, text, [systems[s].get(key) for s in systems])
                           for key, text in METRICS],
                  systems=list(systems))


def write_details(details: list[dict[str, Any]], path: Path) -> None:
    """One JSON line per question, as the page shows it."""
    with path.open("w", encoding="utf-8") as out:
        for d in details:
            out.write(json.dumps(d, ensure_ascii=False) + "\n")
