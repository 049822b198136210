"""The ``policybot`` command line. Errors become messages here and nowhere else."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from indexer.config import Settings, load_settings
from indexer.errors import ConfigError, PolicyBotError


class AppContext:
    """Loads settings on first use so ``--help`` never touches the config file."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
            logging.getLogger().setLevel(self._settings.log_level.upper())
        return self._settings

    def index(self) -> Any:
        from indexer.index import PolicyIndex

        return PolicyIndex(self.settings)


class Group(click.Group):
    """Turns PolicyBot's own errors into one clear line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.secho(f"configuration error: {exc}", fg="red", err=True)
            sys.exit(2)
        except PolicyBotError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.option("--config", "config", type=click.Path(path_type=Path), envvar="POLICYBOT_CONFIG",
              help="TOML configuration file (or POLICYBOT_CONFIG).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(package_name="policybot")
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: bool) -> None:
    """PolicyBot: answers about company policies, with links to the exact passages."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "sentence_transformers", "apscheduler.executors", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = AppContext(config)


def _register() -> None:
    from bot.cli import index_commands

    for command in index_commands.COMMANDS:
        main.add_command(command)


_register()
