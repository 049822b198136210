"""What the index holds per source, for ``policybot status``, without loading LanceDB.

Importing LanceDB takes most of a second or two on a small machine, and counting means
reading two columns of every row; status is asked often and should answer at once. So
each sync counts once, at its end, and records the counts in the state database
(:data:`indexer.state.index_counts`); status reads them from there.

Recorded counts are used only while they are still true. A sync deletes them before its
first write and records them after its last, so a sync that fails halfway, or one still
running, leaves none. On a local disk the table's commits (the manifest names in LanceDB's
``_versions`` folder) are fingerprinted too: anything else that wrote the table since (a
release from before this one, a hand-made change) makes the fingerprints differ. Where
there are no recorded counts, or they may be stale, status counts in LanceDB as before and
says that the next sync records them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from indexer.state import RecordedCounts, StateDB, utcnow

log = logging.getLogger(__name__)

ABSENT = "absent"  # the fingerprint of a local table that does not exist (yet)


@dataclass
class SourceCounts:
    documents: int = 0
    chunks: int = 0
    spaces: dict[str, int] | None = None  # rows per vector space ("" = unknown)
    undated: int = 0  # rows from before readers' versions and dates


@dataclass
class IndexCounts:
    """Per source, what the index holds; ``origin`` says where the numbers come from:
    ``recorded`` (by the last sync), ``index`` (counted in LanceDB just now, because
    nothing true was recorded) or ``empty`` (a local index that holds no table yet)."""

    sources: dict[str, SourceCounts]
    origin: str
    recorded_at: Any = None

    def spaces(self) -> dict[str, int]:
        """Rows per vector space in the whole index."""
        out: dict[str, int] = {}
        for counts in self.sources.values():
            for space, n in (counts.spaces or {}).items():
                out[space] = out.get(space, 0) + n
        return out

    @property
    def undated(self) -> int:
        return sum(c.undated for c in self.sources.values())


def local_table_dir(uri: str, table: str) -> Path | None:
    """The folder of a LanceDB table on this machine's disk; None on object storage."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(parsed.path) / f"{table}.lance"
    if parsed.scheme and len(parsed.scheme) > 1:  # s3://, gs://, az://, db:// ...
        return None
    return Path(uri) / f"{table}.lance"  # a path (a one-letter "scheme" is a drive)


def fingerprint(uri: str, table: str) -> str | None:
    """The table's commits as found on disk: :data:`ABSENT` when it has none, a digest of
    its manifests' names otherwise (every commit adds one; compaction removes some), None
    where that cannot be told (object storage, or a layout this code does not know)."""
    folder = local_table_dir(uri, table)
    if folder is None:
        return None
    if not folder.exists():
        return ABSENT
    try:
        names = sorted(p.name for p in (folder / "_versions").iterdir()
                       if p.name.endswith(".manifest"))
    except OSError:
        return None
    if not names:
        return None
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def record(state: StateDB, store: Any, uri: str, table: str) -> None:
    """Count what ``store`` holds now and record it: the sync's last step, under its lock."""
    store.refresh()
    state.record_counts(table, RecordedCounts(uri, fingerprint(uri, table), utcnow(),
                                              store.snapshot()))


def current(state: StateDB, uri: str, table: str, store: Any) -> IndexCounts:
    """The counts status shows. ``store`` is called only when nothing true is recorded:
    it returns the :class:`indexer.store.ChunkStore`, whose import loads LanceDB."""
    recorded = state.recorded_counts(table)
    now = fingerprint(uri, table)
    remote = local_table_dir(uri, table) is None  # object storage: only syncs write it
    if recorded is not None and recorded.uri == uri and (
            recorded.fingerprint is None and remote
            or recorded.fingerprint is not None and recorded.fingerprint == now):
        return IndexCounts({s: SourceCounts(**c) for s, c in recorded.sources.items()},
                           "recorded", recorded.recorded_at)
    if now == ABSENT:
        return IndexCounts({}, "empty")
    if recorded is not None:
        log.info("the counts recorded for index %s are out of date (it was written since): "
                 "counting in it", table)
    return IndexCounts({s: SourceCounts(**c) for s, c in store().snapshot().items()}, "index")
