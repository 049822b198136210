"""One sync at a time per index, across threads and processes.

A file lock beside the data (``HOME/locks/``): the CLI, the scheduler and the Slack app
may all ask for a sync, and two writers racing on the same documents would waste work
and could interleave deletes with inserts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from indexer.errors import SyncBusyError

log = logging.getLogger(__name__)


@contextmanager
def index_lock(home: Path, table: str, timeout_s: float) -> Iterator[None]:
    """Hold the sync lock of ``table``; SyncBusyError after ``timeout_s`` seconds."""
    path = home / "locks" / f"sync-{table}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("another sync is running; waiting up to %.0fs for it", timeout_s)
        try:
            lock.acquire(timeout=timeout_s)
        except Timeout:
            raise SyncBusyError(f"another sync of this index is still running after "
                                f"{timeout_s:.0f}s (lock {path}); try again later") from None
    try:
        yield
    finally:
        lock.release()
