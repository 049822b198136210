"""``policybot init``: a commented configuration for your own handbook, and what it holds.

The first hour matters most: from a folder, a repository or a site to a file that syncs,
with the documents it would index listed before anything is indexed, and the next
command spelled out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

DEFAULT_FILE = Path("policybot.toml")


@click.command()
@click.argument("target", default=".", required=False)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=DEFAULT_FILE,
              show_default=True, help="Configuration file to write.")
@click.option("--name", help="Source name (default: from the folder, repository or host).")
@click.option("--force", is_flag=True, help="Overwrite an existing configuration file.")
@click.option("--allow-private-network", is_flag=True,
              help="Web: let the site resolve to a private or loopback address.")
def init(target: str, output: Path, name: str | None, force: bool,
         allow_private_network: bool) -> None:
    """Write a configuration for TARGET (a folder, a git repository URL or a web site)
    and list the documents it would index."""
    from indexer.config import load_settings
    from indexer.errors import ConfigError
    from indexer.starter import render_toml, starter_for

    if output.exists() and not force:
        raise ConfigError(f"{output} already exists: pass --force to overwrite it, or "
                          "--output to write another file")
    home = load_settings(None).home  # POLICYBOT_HOME, or .policybot here
    starter = starter_for(target, home / "cache", name=name,
                          allow_private_network=allow_private_network)
    text = render_toml(starter)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    load_settings(output)  # what was written must load; a ConfigError here is a bug shown
    _report(starter, output)


def _report(starter: Any, output: Path) -> None:
    from indexer.starter import SHOWN

    entry = starter.entry
    click.secho(f"Wrote {output}: one {starter.kind} source, {entry['name']!r}.", bold=True)
    for note in starter.notes:
        click.echo(f"  note: {note}")
    docs = starter.documents
    if not docs:
        click.secho("It lists no documents PolicyBot can read yet "
                    "(Markdown, text, HTML, PDF, DOCX).", fg="yellow")
    else:
        counts = sorted(starter.formats().items(), key=lambda kv: (-kv[1], kv[0]))
        kinds = ", ".join(f"{n} {fmt}" for fmt, n in counts)
        click.echo(f"\n{len(docs)} document(s) to index ({kinds}):")
        for path, fmt in docs[:SHOWN]:
            click.echo(f"  {path}  ({fmt})")
        if len(docs) > SHOWN:
            click.echo(f"  … and {len(docs) - SHOWN} more")
    for path, why in starter.skipped:
        click.echo(f"  skipped {path}: {why}")
    if "url" in entry:
        click.echo(f"\nCitations link to {entry['url']}")
    click.secho("\nNext:", bold=True)
    click.echo(f"  policybot --config {output} sync")
    click.echo(f"  policybot --config {output} ask \"How many days of leave do I get?\"")


COMMANDS = [init]
