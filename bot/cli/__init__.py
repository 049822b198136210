"""The ``policybot`` command line. Errors become messages here and nowhere else."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from bot.settings import AppSettings, load_app_settings
from indexer.errors import ConfigError, PolicyBotError
from model.validation import QuestionError


class AppContext:
    """Loads settings on first use so ``--help`` never touches the config file."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: AppSettings | None = None

    @property
    def settings(self) -> AppSettings:
        if self._settings is None:
            self._settings = load_app_settings(self.config)
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
        except (PolicyBotError, QuestionError) as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)


def _set_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.find_object(AppContext).config = value


def config_option(command: Any) -> Any:
    """``--config`` accepted after the sub-command too: ``policybot eval qa.jsonl --config f``."""
    return click.option("--config", type=click.Path(path_type=Path), expose_value=False,
                        callback=_set_config, is_eager=True,
                        help="TOML configuration file.")(command)


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
    for noisy in ("httpx", "sentence_transformers", "apscheduler.executors", "filelock",
                  "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = AppContext(config)


def _register() -> None:
    from bot.cli import (
        answer_commands,
        config_commands,
        db_commands,
        index_commands,
        init_commands,
        lora_commands,
        report_commands,
        serve_commands,
    )

    for command in (index_commands.COMMANDS + answer_commands.COMMANDS
                    + serve_commands.COMMANDS + lora_commands.COMMANDS
                    + db_commands.COMMANDS + config_commands.COMMANDS
                    + init_commands.COMMANDS + report_commands.COMMANDS):
        main.add_command(config_option(command))


_register()
