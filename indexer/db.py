"""The state database: one MetaData, one engine per URL per process, Alembic migrations.

Every relational table PolicyBot keeps is declared on :data:`metadata`: the indexer's in
:mod:`indexer.state`, the bot's in ``bot.history_tables`` and ``bot.lora.registry``
(the indexer never imports the bot, so the bot registers its tables here rather than this
module importing them). APScheduler's job table is the one exception: APScheduler creates
and owns it, on the same engine.

The schema is changed only by the migrations in ``indexer/migrations/`` (shipped as package
data). They live in the indexer because the indexer opens the database too (``policybot
sync`` without the bot's services) and may not import the bot; a migration script is
self-contained DDL, so it can create the bot's tables without importing them.
``upgrade`` runs them under a lock (``pg_advisory_lock`` on PostgreSQL, a file lock beside
a SQLite file), so two processes starting at once migrate once; an install made before
migrations existed (tables, no ``alembic_version``) is adopted by the baseline revision,
which only creates the tables that are missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event, func, select
from sqlalchemy.engine import Connection, Engine, make_url

from indexer.errors import PolicyBotError

log = logging.getLogger(__name__)

metadata = MetaData()

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed 64-bit number: the session-level advisory lock that serializes migrations.
ADVISORY_LOCK_KEY = 0x706F6C6963796462  # "policydb"
SCHEDULER_TABLES = ("apscheduler_jobs",)  # created by APScheduler, not by migrations

_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = threading.Lock()


class SchemaError(PolicyBotError):
    """The database's schema is one this code cannot use (e.g. written by a newer release)."""


def engine_for(url: str) -> Engine:
    """The process's one engine for ``url`` (created on first use).

    SQLite files get WAL (readers never block the writer), a busy timeout (the CLI, the
    scheduler and the server may write the same file) and ``synchronous=NORMAL``."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create(url)
        return engine


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA busy_timeout=10000")
            # WAL + NORMAL never corrupts; a power cut may lose the last commits. The bot
            # commits on every Slack event, and FULL's fsyncs made acks wait (p99 ~1 s).
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")
    return engine


def open_state(url: str) -> Engine:
    """The engine for ``url``, its schema migrated to the latest revision (once per
    process and URL): what every store calls before touching its tables."""
    if url not in _ready:
        upgrade(url)
    return engine_for(url)


def alembic_config(url: str, **attributes: Any) -> Any:
    """An Alembic configuration for ``url`` without an ini file (the scripts are package
    data); ``attributes`` reach ``env.py`` (``connection``, ``metadata``)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes.update(attributes)
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "no migration scripts shipped"
    return head


def current_revision(url: str) -> str | None:
    """The revision the database is at; None before the first upgrade."""
    from alembic.runtime.migration import MigrationContext

    with engine_for(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate ``url`` to ``revision``; idempotent, and serialized across processes.

    Returns the revision the database is at afterwards."""
    from alembic import command
    from alembic.util import CommandError

    engine = engine_for(url)
    with _migration_lock(engine) as conn:
        before = _revision(conn)
        try:
            command.upgrade(alembic_config(url, connection=conn), revision)
        except CommandError as exc:
            if before is not None and not _known(before):
                raise SchemaError(
                    f"the state database {_safe(url)} is at revision {before}, which this "
                    f"PolicyBot does not know (its latest is {head_revision()}): it was "
                    f"written by a newer release; upgrade PolicyBot") from exc
            raise SchemaError(f"cannot migrate the state database {_safe(url)}: {exc}"
                              ) from exc
        after = _revision(conn)
    if after != before:
        log.info("state database %s migrated from %s to %s", _safe(url), before, after)
    if revision == "head":
        _ready.add(url)
    return after


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision)
    except CommandError:
        return False
    return True


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    rev = MigrationContext.configure(conn).get_current_revision()
    if conn.in_transaction():
        conn.commit()
    return rev


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection on which the caller alone may migrate, across processes."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(select(func.pg_advisory_lock(ADVISORY_LOCK_KEY)))
            conn.commit()
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
                conn.commit()
        return
    lock = _file_lock(engine)
    with lock, engine.connect() as conn:
        yield conn


def _file_lock(engine: Engine) -> Any:
    """A lock file beside a SQLite file (another database: a lock per process is enough)."""
    from filelock import FileLock

    database = engine.url.database
    if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
        return FileLock(f"{database}.migrate.lock", thread_local=False)
    return _lock_for(str(engine.url))


_thread_locks: dict[str, threading.Lock] = {}


def _lock_for(key: str) -> threading.Lock:
    with _lock:
        return _thread_locks.setdefault(key, threading.Lock())


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
