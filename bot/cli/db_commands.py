"""``policybot db``: the state database's schema (Alembic migrations in indexer/migrations).

``serve``, ``sync`` and ``scheduler`` upgrade on start through :func:`upgrade_state`; the
commands here are for doing it ahead of a deploy, checking where a database stands, and
writing a new migration.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import click

from bot.cli import config_option

log = logging.getLogger(__name__)


def upgrade_state(settings: Any) -> str | None:
    """Bring the state database to the latest revision before a long-running command
    starts: a schema it cannot use fails here, not at the first Slack event."""
    from indexer.db import upgrade

    return upgrade(settings.db_url)


def all_metadata() -> Any:
    """The one MetaData with every module's tables registered on it (the bot's included),
    as autogenerate must see it."""
    import bot.history_tables  # noqa: F401 - registers the bot's tables
    import bot.lora.registry  # noqa: F401 - registers adapter_versions
    import indexer.state  # noqa: F401 - registers the sync tables
    from indexer.db import metadata

    return metadata


@click.group()
def db() -> None:
    """The state database's schema (SQLite by default, database_url for PostgreSQL)."""


@db.command()
@config_option
@click.pass_obj
def upgrade(app: Any) -> None:
    """Migrate the state database to the latest revision (safe to run at any time)."""
    from indexer.db import current_revision

    before = current_revision(app.settings.db_url)
    after = upgrade_state(app.settings)
    click.echo(f"state database at {after}" + ("" if before == after else
                                                f" (was {before or 'not versioned'})"))


@db.command()
@config_option
@click.pass_obj
def current(app: Any) -> None:
    """Print the database's revision and the latest this PolicyBot knows."""
    from indexer.db import current_revision, head_revision

    rev, head = current_revision(app.settings.db_url), head_revision()
    state = "up to date" if rev == head else "needs `policybot db upgrade`"
    click.echo(f"{rev or 'not versioned'} (latest {head}: {state})")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes.")
def revision(message: str) -> None:
    """Write a new migration from the difference between the tables declared in code and
    the latest migration (run in a source checkout; review the script it writes)."""
    from alembic import command

    from indexer.db import alembic_config, engine_for, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'head.db'}"
        upgrade(url)
        engine = engine_for(url)
        with engine.connect() as conn:
            script = command.revision(alembic_config(url, connection=conn,
                                                     metadata=all_metadata()),
                                      message=message, autogenerate=True)
        engine.dispose()
    click.echo(f"wrote {getattr(script, 'path', script)}")


COMMANDS = [db]
