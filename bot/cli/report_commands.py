"""``policybot report``: the weekly report for the people who own the policies.

It reads the state database (the answers, cited documents and feedback the Slack app
stored) and the configured embedding model (to group similar questions); it never reads
who asked beyond counting them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _since(_ctx: click.Context, _param: click.Parameter, value: str) -> Any:
    from bot.reports.weekly import parse_since

    try:
        return parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command()
@click.option("--since", default="7d", show_default=True, callback=_since,
              help="How far back to look: 48h, 7d, 2w…")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as one self-contained HTML page.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Gaps and documents listed per section.")
@click.pass_obj
def report(app: Any, since: Any, html_file: Path | None, as_json: bool, top: int) -> None:
    """Gaps (unanswered questions, similar ones grouped), 👎 by document, the most cited
    documents and those cited but unchanged for over a year. For admins and policy
    owners: it quotes questions and names restricted documents (never who asked)."""
    from bot.reports.weekly import report_html, report_text, weekly_report
    from indexer.db import open_state

    engine = open_state(app.settings.db_url)
    index = app.index()
    result = weekly_report(engine, lambda texts: index.embedder.embed(texts, progress=False),
                           since, top=top)
    if html_file:
        html_file.write_text(report_html(result), encoding="utf-8")
        click.echo(f"wrote {html_file}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(report_text(result))


COMMANDS = [report]
