"""Alembic's entry point for PolicyBot's state database (see :mod:`indexer.db`).

Always online: ``indexer.db.upgrade`` hands over a connection it holds the migration lock
on. ``metadata`` may be passed in too: ``policybot db revision --autogenerate`` passes one
with the bot's tables registered, which this module cannot import itself.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from indexer.db import SCHEDULER_TABLES, engine_for, metadata

config = context.config


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """APScheduler creates and owns its job table: migrations leave it alone."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", name) not in SCHEDULER_TABLES


def run(connection: Any) -> None:
    context.configure(connection=connection,
                      target_metadata=config.attributes.get("metadata", metadata),
                      include_object=include_object,
                      render_as_batch=True,  # SQLite alters tables by copying them
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("PolicyBot's migrations run online only: policybot db upgrade")
given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    with engine_for(config.get_main_option("sqlalchemy.url")).connect() as conn:
        run(conn)
