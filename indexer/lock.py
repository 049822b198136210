"""Locks every process sharing this deployment sees: one sync at a time per index, one
active scheduler, one re-index at a time.

Where the state database is PostgreSQL, the bot may run as several replicas on several
machines that share it (and the LanceDB index): a lock is a PostgreSQL session-level
advisory lock held on a connection of its own, released by the server the moment that
connection ends — a replica killed with SIGKILL frees its locks at once. With SQLite
every process runs on one machine over one home, so a file lock beside the data
(``HOME/locks/``) does the same job.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from indexer.errors import SyncBusyError

log = logging.getLogger(__name__)
POLL_S = 0.2  # how often a waiting PostgreSQL lock tries again
_engines: dict[str, Any] = {}
_engines_lock = threading.Lock()


def advisory_key(name: str) -> int:
    """The signed 64-bit key PostgreSQL's advisory lock functions take, for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def is_postgres(db_url: str | None) -> bool:
    return bool(db_url) and str(db_url).startswith(("postgresql", "postgres:"))


def _engine(db_url: str) -> Any:
    """One pool-less engine per URL: each held lock owns its connection outright."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    with _engines_lock:
        if db_url not in _engines:
            _engines[db_url] = create_engine(db_url, poolclass=NullPool)
        return _engines[db_url]


class ClusterLock:
    """A named, non-reentrant lock across processes (and replicas, on PostgreSQL)."""

    def __init__(self, name: str, home: Path, db_url: str | None = None) -> None:
        self.name = name
        self.db_url = db_url if is_postgres(db_url) else None
        self.path = home / "locks" / f"{name}.lock"
        self._conn: Any = None
        self._file: FileLock | None = None

    def acquire(self, timeout_s: float = 0.0) -> bool:
        """True once held; False when another holder kept it for ``timeout_s`` seconds."""
        if self.db_url is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = FileLock(str(self.path), thread_local=False)
            try:
                self._file.acquire(timeout=timeout_s)
            except Timeout:
                self._file = None
                return False
            return True
        from sqlalchemy import text

        conn = _engine(self.db_url).connect()
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                   {"k": advisory_key(self.name)}).scalar()
                conn.commit()  # the session keeps the lock; no transaction stays open
                if got:
                    self._conn = conn
                    return True
                if time.monotonic() >= deadline:
                    conn.close()
                    return False
                time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        except BaseException:
            conn.close()
            raise

    def alive(self) -> bool:
        """Whether the lock is still ours: on PostgreSQL, whether its connection is up."""
        if self._file is not None:
            return True
        if self._conn is None:
            return False
        from sqlalchemy import text

        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
        except Exception:  # the connection is gone, and the server freed the lock with it
            return False
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.release()
            self._file = None
        if self._conn is not None:
            try:  # closing the session frees it as well; unlock first to keep it explicit
                from sqlalchemy import text

                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"),
                                   {"k": advisory_key(self.name)})
                self._conn.commit()
            except Exception:  # noqa: BLE001 - the connection is gone: so is the lock
                log.debug("advisory unlock of %s failed; the closed session frees it",
                          self.name)
            finally:
                self._conn.close()
                self._conn = None


@contextmanager
def index_lock(home: Path, table: str, timeout_s: float,
               db_url: str | None = None) -> Iterator[None]:
    """Hold the sync lock of ``table``; SyncBusyError after ``timeout_s`` seconds."""
    lock = ClusterLock(f"sync-{table}", home, db_url)
    if not lock.acquire(0):
        log.info("another sync is running; waiting up to %.0fs for it", timeout_s)
        if not lock.acquire(timeout_s):
            where = lock.path if lock.db_url is None else "a PostgreSQL advisory lock"
            raise SyncBusyError(f"another sync of this index is still running after "
                                f"{timeout_s:.0f}s (lock {where}); try again later")
    try:
        yield
    finally:
        lock.release()
