"""Terminal rendering of answers and evaluation reports."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from indexer.dating import SYNCED, describe
from indexer.labels import citation_label
from indexer.parsing.util import safe_link
from model.answer import EVIDENCE, Answer, Citation

EVIDENCE_HEADING = "The closest the handbook comes (not an answer — check it applies):"


def shown(c: Citation) -> str:
    """``  (commit 1a2b3c4 · committed 2026-05-01)``: the version and date a reader can
    use, worded as in Slack; "" when neither is known."""
    text = describe(c.version_label, c.doc_date, c.dated_by or SYNCED)
    return f"  ({text})" if text else ""


def quoted(c: Citation) -> str:
    """The verbatim quote, each link's text followed by its URL: "follow these
    instructions <https://…>" (a terminal shows a URL, not markup)."""
    text = " ".join(c.quote.split())
    for label, url in c.links:
        at = text.find(label) if safe_link(url) else -1  # never a javascript: "link"
        if at >= 0:
            end = at + len(label)
            text = f"{text[:end]} <{url}>{text[end:]}"
    return f"“{text}”"


def answer(a: Answer, load_ms: float | None = None) -> None:
    """The answer for a terminal; ``load_ms`` (models and index loading) is shown apart
    from the answer's own time."""
    for note in a.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
    if a.outcome == EVIDENCE and a.evidence:
        click.secho("I couldn't find a direct answer.", bold=True)
        click.secho(f"\n{EVIDENCE_HEADING}", bold=True)
        for c in a.evidence:
            click.secho(f"  {citation_label(c.title, c.section)}{shown(c)}", fg="cyan")
            click.echo(f"    {c.url}")
            click.echo(textwrap.indent(textwrap.fill(quoted(c), 96), "    "))
        _timing(a, load_ms)
        return
    if a.abstained or not a.grounded:
        click.secho(a.text if a.abstained else
                    "I couldn't tie an answer to the policies, so I won't guess.", bold=True)
        if a.related:
            click.echo("\nMight be related:")
            for c in a.related:
                click.echo(f"  - {citation_label(c.title, c.section)}\n    {c.url}")
        return
    flagged = {s.text for s in a.unsupported}
    for s in a.sentences:
        if s.text in flagged:
            click.secho(f"(not supported by the cited passage) {s.text}", fg="yellow")
    for line in a.text.splitlines():  # a table answer is a list, one row per line
        click.echo(textwrap.fill(line, 100, subsequent_indent="  " if line.startswith("- ")
                                 else ""))
    click.secho("\nSources:", bold=True)
    for c in a.citations:
        click.secho(f"[{c.n}] {citation_label(c.title, c.section)}{shown(c)}", fg="cyan")
        click.echo(f"    {c.url}")
        click.echo(textwrap.indent(textwrap.fill(quoted(c), 96, break_long_words=False,
                                                 break_on_hyphens=False), "    "))
    _timing(a, load_ms)


def _timing(a: Answer, load_ms: float | None) -> None:
    loaded = f"; ready after {load_ms:.0f} ms of loading" if load_ms is not None else ""
    click.secho(f"\n({a.generator}, {a.timings_ms.get('total', 0):.0f} ms{loaded})", dim=True,
                err=True)


def _kinds_table(kinds: dict[str, dict[str, Any]]) -> list[str]:
    columns = ["questions", "answered", "evidence", "not_covered", "answered_gold",
               "turned_away", "answered_or_evidence_gold", "not_covered_answered"]
    short = ["n", "answered", "evidence", "not cov.", "ans+gold", "turned", "ans/ev+gold",
             "nc answered"]
    lines = ["", "by kind".ljust(14) + "".join(h.rjust(12) for h in short)]
    for kind, row in kinds.items():
        cells = [row.get(c) for c in columns]
        lines.append(kind.ljust(14) + "".join(
            ("-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)).rjust(12)
            for v in cells))
    return lines


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
    if report.get("by_kind"):
        lines += _kinds_table(report["by_kind"])
    return "\n".join(lines)
