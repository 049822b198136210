"""Terminal rendering of answers and evaluation reports."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from model.answer import Answer


def answer(a: Answer) -> None:
    for note in a.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
    if a.abstained or not a.grounded:
        click.secho(a.text if a.abstained else
                    "I couldn't tie an answer to the policies, so I won't guess.", bold=True)
        if a.related:
            click.echo("\nMight be related:")
            for c in a.related:
                click.echo(f"  - {c.title} — {c.section}\n    {c.url}")
        return
    flagged = {s.text for s in a.unsupported}
    for s in a.sentences:
        if s.text in flagged:
            click.secho(f"(not supported by the cited passage) {s.text}", fg="yellow")
    click.echo(textwrap.fill(a.text, 100))
    click.secho("\nSources:", bold=True)
    for c in a.citations:
        version = f"  ({c.doc_version[:12]})" if c.doc_version else ""
        click.secho(f"[{c.n}] {c.title} — {c.section}{version}", fg="cyan")
        click.echo(f"    {c.url}")
        click.echo(textwrap.indent(textwrap.fill(f"“{c.quote}”", 96), "    "))
    click.secho(f"\n({a.generator}, {a.timings_ms.get('total', 0):.0f} ms)", dim=True, err=True)


def eval_table(report: dict[str, Any]) -> str:
    systems = list(report["systems"])
    metrics = list(report["systems"][systems[0]])
    width = max(len(m) for m in metrics) + 2
    lines = [f"{report['questions']} questions ({report['answerable']} answerable, "
             f"{report['unanswerable']} not covered)", "",
             "metric".ljust(width) + "".join(s.rjust(14) for s in systems)]
    for m in metrics:
        row = m.ljust(width)
        for s in systems:
            v = report["systems"][s][m]
            row += (f"{v:14.3f}" if isinstance(v, float) else f"{v!s:>14}")
        lines.append(row)
    return "\n".join(lines)
