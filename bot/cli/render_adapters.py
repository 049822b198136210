"""Terminal rendering for ``policybot adapters``: dataset reports, findings, gate tables."""

from __future__ import annotations

from typing import Any

import click

from model.adapters.gate import Verdict
from model.adapters.validate import Finding
from model.training.dataset import DROP_REASONS

MARKS = {"ok": ("✓", "green"), "warning": ("!", "yellow"), "error": ("✗", "red")}


def dataset_report(report: dict[str, Any]) -> str:
    """Counts first, then each drop reason with its explanation."""
    i, kept = report["inputs"], report["kept"]
    lines = [f"examples: {report['examples']} (train {report['train']}, "
             f"validation {report['validation']})",
             f"inputs:   {i['curated']} curated, {i['feedback_answers']} 👍 answers "
             f"({i['feedback_votes']} votes), {i['downvoted_questions']} questions 👎",
             f"kept:     {kept['curated']} curated, {kept['feedback']} feedback "
             f"({report['renumbered']} with renumbered citations)",
             f"dropped:  {report['dropped_total']}"]
    width = max((len(r) for r in report["dropped"]), default=0)
    lines += [f"  {reason.ljust(width)}  {count:>5}  {DROP_REASONS[reason]}"
              for reason, count in report["dropped"].items()]
    return "\n".join(lines)


def findings(found: list[Finding]) -> None:
    """One coloured line per check."""
    for f in found:
        mark, colour = MARKS[f.level]
        click.secho(f"{mark} ", fg=colour, bold=True, nl=False)
        click.echo(f"{f.check}: {f.message}")


def training(metrics: dict[str, Any], out: Any) -> str:
    """Loss per epoch, then throughput and where the adapter went."""
    def loss(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.4f}"

    lines = ["epoch  train loss  validation loss"]
    lines += [f"{e['epoch']!s:>5}  {loss(e['train_loss']):>10}  {loss(e['val_loss']):>15}"
              for e in metrics["epochs"]]
    lines.append(f"{metrics['steps']} steps, {metrics['train_tokens']} tokens in "
                 f"{metrics['seconds']:.1f}s ({metrics['tokens_per_s']:.0f} tokens/s) on "
                 f"{metrics['device']}; adapter written to {out}")
    return "\n".join(lines)


def gate_table(verdict: Verdict, base: dict[str, Any] | None) -> str:
    """Base, in-service and candidate side by side, with the verdict last."""
    def cell(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    width = max(len(r.metric.label) for r in verdict.rows) + 2
    head = "metric".ljust(width) + "base".rjust(9) + "in service".rjust(12) + \
        "candidate".rjust(11) + "change".rjust(9)
    lines = [f"compared with: {verdict.against}", head]
    for r in verdict.rows:
        mark = {True: " ✓", False: " ✗", None: ""}[r.ok]
        change = "" if r.delta is None else f"{r.delta:+.3f}"
        lines.append(r.metric.label.ljust(width) + cell((base or {}).get(r.metric.key))
                     .rjust(9) + cell(r.incumbent).rjust(12) + cell(r.candidate).rjust(11)
                     + change.rjust(9) + mark)
    lines.append(verdict.summary())
    return "\n".join(lines)
