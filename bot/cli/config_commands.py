"""``policybot config show``: the effective configuration, secrets redacted."""

from __future__ import annotations

import json
from typing import Any

import click

from bot.cli import config_option


@click.group(name="config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_obj
def show(app: Any, as_json: bool) -> None:
    """Every setting with its effective value and where it came from (default, the
    file, or an environment variable). Tokens, secrets, API keys and URL passwords are
    redacted."""
    from bot.config_view import effective, render

    rows = effective(app.settings, app.config)
    click.echo(json.dumps(rows, ensure_ascii=False) if as_json else render(rows))


COMMANDS = [config_group]
