"""Relational state: the history of sync runs and the documents each run could not index.

SQLAlchemy Core over SQLite by default (a file in the PolicyBot home) or PostgreSQL in
production; the scheduler's job store lives in the same database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    desc,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine

from indexer.lock import advisory_key

metadata = MetaData()

sync_runs = Table(
    "sync_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False, index=True),
    Column("trigger", String(40), nullable=False),  # cli, schedule, slack, ...
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),  # ok, partial, failed
    Column("added", Integer, default=0), Column("updated", Integer, default=0),
    Column("unchanged", Integer, default=0), Column("deleted", Integer, default=0),
    Column("failed", Integer, default=0), Column("chunks_embedded", Integer, default=0),
    Column("seconds", Float, default=0.0),
    Column("error", Text),
)

sync_failures = Table(
    "sync_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("sync_runs.id"), index=True, nullable=False),
    Column("path", Text, nullable=False),
    Column("reason", Text, nullable=False),
)


@dataclass
class RunRecord:
    source: str
    trigger: str
    started_at: datetime
    finished_at: datetime
    status: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    error: str | None = None


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL so readers never block the sync."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA busy_timeout=10000")
            # WAL + NORMAL never corrupts; a power cut may lose the last commits. The bot
            # commits on every Slack event, and FULL's fsyncs made acks wait (p99 ~1 s).
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")
    return engine


def create_tables(tables: MetaData, engine: Engine) -> None:
    """``create_all`` that two processes may run at once: on PostgreSQL both would see a
    table missing and one CREATE would fail, so the DDL runs in one transaction under an
    advisory lock (released at commit); SQLite serializes writers already."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                         {"k": advisory_key("policybot-schema")})
        tables.create_all(conn)


class StateDB:
    """Sync history. Created on first use; safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        create_tables(metadata, self.engine)

    def record_run(self, run: RunRecord, failures: list[tuple[str, str]]) -> int:
        with self.engine.begin() as conn:
            run_id = conn.execute(insert(sync_runs).values(**run.__dict__)).inserted_primary_key[0]
            if failures:
                conn.execute(insert(sync_failures),
                             [{"run_id": run_id, "path": p, "reason": r} for p, r in failures])
        return int(run_id)

    def last_runs(self) -> dict[str, RunRecord]:
        """The latest run of each source."""
        out: dict[str, RunRecord] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(select(sync_runs).order_by(desc(sync_runs.c.id))):
                if row.source not in out:
                    out[row.source] = _record(row)
        return out

    def runs(self, source: str | None = None) -> list[RunRecord]:
        query = select(sync_runs).order_by(sync_runs.c.id)
        if source:
            query = query.where(sync_runs.c.source == source)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def failures(self, source: str) -> list[tuple[str, str]]:
        """Documents the latest run of ``source`` could not index."""
        with self.engine.connect() as conn:
            run_id = conn.execute(select(sync_runs.c.id).where(sync_runs.c.source == source)
                                  .order_by(desc(sync_runs.c.id)).limit(1)).scalar()
            if run_id is None:
                return []
            rows = conn.execute(select(sync_failures.c.path, sync_failures.c.reason)
                                .where(sync_failures.c.run_id == run_id))
            return [(p, r) for p, r in rows]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _record(row: Any) -> RunRecord:
    """A run as stored; SQLite drops the time zone, so UTC is put back."""
    data = {k: v for k, v in row._mapping.items() if k != "id"}
    for key in ("started_at", "finished_at"):
        if data[key] is not None and data[key].tzinfo is None:
            data[key] = data[key].replace(tzinfo=UTC)
    return RunRecord(**data)
