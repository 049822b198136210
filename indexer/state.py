"""Relational state: the history of sync runs, the documents each run could not index, and
what the index held when the last sync finished (so ``policybot status`` needs no LanceDB).

SQLAlchemy Core over SQLite by default (a file in the PolicyBot home) or PostgreSQL in
production; the tables are registered on :data:`indexer.db.metadata` and created by its
migrations, and the scheduler's job store lives in the same database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    desc,
    insert,
    select,
)

from indexer.db import metadata, open_state

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
    Column("empty", Integer, default=0),  # documents with no text (0004_sync_empty)
)

sync_failures = Table(
    "sync_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("sync_runs.id"), index=True, nullable=False),
    Column("path", Text, nullable=False),
    Column("reason", Text, nullable=False),
    # "failed": could not be indexed; "empty": read, but holds no text (a redirect-only page)
    Column("kind", String(20), nullable=False, default="failed", server_default="failed"),
)

# What the index held when the last sync of it finished: one row per LanceDB table, written
# at the end of every sync and deleted at its start, so a row exists only while it is true
# of every commit a sync made (0005_index_counts; read by indexer.index_counts).
index_counts = Table(
    "index_counts", metadata,
    Column("index_name", String(200), primary_key=True),  # the LanceDB table
    Column("uri", Text, nullable=False),  # the LanceDB URI the counts were read from
    # the table's commits on a local disk when counted (indexer.index_counts); NULL on
    # object storage, where only a sync (which deletes this row first) writes the table
    Column("fingerprint", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # {source: {"documents", "chunks", "spaces": {vector space: rows}, "undated"}}, JSON
    Column("sources", Text, nullable=False),
)


@dataclass
class RecordedCounts:
    """What :data:`index_counts` holds for one index."""

    uri: str
    fingerprint: str | None
    recorded_at: datetime
    sources: dict[str, dict[str, Any]]


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
    empty: int = 0


class StateDB:
    """Sync history; safe to share between threads. Opening it migrates the schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_state(url)

    def record_run(self, run: RunRecord, failures: list[tuple[str, str]],
                   empties: list[tuple[str, str]] | None = None) -> int:
        """One run, the documents it could not index and those that hold no text."""
        listed = [{"run_id": None, "path": p, "reason": r, "kind": "failed"} for p, r in failures]
        listed += [{"run_id": None, "path": p, "reason": r, "kind": "empty"}
                   for p, r in empties or []]
        with self.engine.begin() as conn:
            run_id = conn.execute(insert(sync_runs).values(**run.__dict__)).inserted_primary_key[0]
            if listed:
                conn.execute(insert(sync_failures), [{**x, "run_id": run_id} for x in listed])
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

    def failures(self, source: str, kind: str = "failed") -> list[tuple[str, str]]:
        """Documents the latest run of ``source`` could not index (``kind="empty"``:
        those it read that hold no text, such as redirect-only pages)."""
        with self.engine.connect() as conn:
            run_id = conn.execute(select(sync_runs.c.id).where(sync_runs.c.source == source)
                                  .order_by(desc(sync_runs.c.id)).limit(1)).scalar()
            if run_id is None:
                return []
            rows = conn.execute(select(sync_failures.c.path, sync_failures.c.reason)
                                .where(sync_failures.c.run_id == run_id,
                                       sync_failures.c.kind == kind))
            return [(p, r) for p, r in rows]

    def record_counts(self, index_name: str, counts: RecordedCounts) -> None:
        """What ``index_name`` holds now, replacing what was recorded before."""
        with self.engine.begin() as conn:
            conn.execute(delete(index_counts).where(index_counts.c.index_name == index_name))
            conn.execute(insert(index_counts).values(
                index_name=index_name, uri=counts.uri, fingerprint=counts.fingerprint,
                recorded_at=counts.recorded_at, sources=json.dumps(counts.sources)))

    def forget_counts(self, index_name: str) -> None:
        """Before a sync writes: from here until it records again, status counts afresh."""
        with self.engine.begin() as conn:
            conn.execute(delete(index_counts).where(index_counts.c.index_name == index_name))

    def recorded_counts(self, index_name: str) -> RecordedCounts | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(index_counts).where(
                index_counts.c.index_name == index_name)).first()
        if row is None:
            return None
        when = row.recorded_at
        return RecordedCounts(row.uri, row.fingerprint,
                              when.replace(tzinfo=UTC) if when.tzinfo is None else when,
                              json.loads(row.sources))


def utcnow() -> datetime:
    return datetime.now(UTC)


def _record(row: Any) -> RunRecord:
    """A run as stored; SQLite drops the time zone, so UTC is put back."""
    data = {k: v for k, v in row._mapping.items() if k != "id"}
    data["empty"] = data.get("empty") or 0
    for key in ("started_at", "finished_at"):
        if data[key] is not None and data[key].tzinfo is None:
            data[key] = data[key].replace(tzinfo=UTC)
    return RunRecord(**data)
