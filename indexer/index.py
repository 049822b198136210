"""PolicyIndex: the one object the CLI, the scheduler and the Slack app use to index.

It wires settings to the store, the embedding model, the state database and the sources,
loading the heavy parts (the model, LanceDB) only when first needed: the modules that
import LanceDB are imported there too, so ``policybot status`` (which reads the counts the
last sync recorded, :mod:`indexer.index_counts`) never loads it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from indexer import index_counts
from indexer.chunking import Chunker
from indexer.config import Settings
from indexer.embedding import Embedder
from indexer.lock import index_lock
from indexer.progress import Progress
from indexer.rows import row_shape
from indexer.sources import build_source
from indexer.state import StateDB, utcnow

if TYPE_CHECKING:  # these import LanceDB: loaded where first used
    from indexer.retrieval import Retriever
    from indexer.store import ChunkStore
    from indexer.sync import SourceReport

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    reports: list[SourceReport]
    seconds: float

    def total(self, key: str) -> int:
        return sum(getattr(r, key) for r in self.reports)

    def summary(self) -> dict[str, Any]:
        keys = ("added", "updated", "unchanged", "deleted", "failed", "empty",
                "chunks_embedded")
        out: dict[str, Any] = {k: self.total(k) for k in keys}
        out["failed"] += sum(1 for r in self.reports if r.error)
        out["seconds"] = round(self.seconds, 3)
        return out

    @property
    def ok(self) -> bool:
        return not any(r.error for r in self.reports)


class PolicyIndex:
    """Settings → sources, store, model, state. Cheap to build; heavy parts load lazily."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """``embedder`` lets several indexes (tests, the demo) share one loaded model."""
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self._parts: dict[str, Any] = {"embedder": embedder} if embedder else {}
        self._init_lock = threading.RLock()  # the bot's threads may race to load parts
        # Called with each SyncResult once its rows are committed (stale-answer alerts,
        # metrics). A failing listener is logged and never fails the sync.
        self.on_synced: list[Callable[[SyncResult], None]] = []

    def _once(self, name: str, factory: Any) -> Any:
        with self._init_lock:
            if name not in self._parts:
                self._parts[name] = factory()
            return self._parts[name]

    @property
    def store(self) -> ChunkStore:
        from indexer.store import ChunkStore

        return self._once("store", lambda: ChunkStore(
            self.settings.lance_uri, self.settings.index.table,
            self.settings.index.read_consistency_s))

    @property
    def embedder(self) -> Embedder:
        return self._once("embedder", lambda: Embedder(self.settings.embedding,
                                                       self.settings.home))

    @property
    def chunker(self) -> Chunker:
        return self._once("chunker", lambda: Chunker(
            self.embedder.tokenizer, self.settings.chunking, self.embedder.max_tokens))

    @property
    def state(self) -> StateDB:
        return self._once("state", lambda: StateDB(self.settings.db_url))

    def sync(self, names: list[str] | None = None, full: bool = False, trigger: str = "cli",
             progress: Progress | None = None) -> SyncResult:
        """Sync the named sources (all when None), one sync per index at a time."""
        from indexer.sync import SourceSync

        configs = [self.settings.source(n) for n in names] if names else self.settings.sources
        progress = progress or Progress()
        started = time.perf_counter()
        reports = []
        with index_lock(self.settings.home, self.settings.index.table,
                        self.settings.index.lock_timeout_s, self.settings.database_url):
            # Until this sync records what it leaves, status counts in the index itself.
            self.state.forget_counts(self.settings.index.table)
            self.store.refresh()
            for config in configs:
                began = utcnow()
                source = build_source(config, self.settings.home / "cache")
                shape = row_shape(config, self.settings.chunking, self.embedder.space)
                try:
                    report = SourceSync(self, source, full, progress, shape).run()
                finally:
                    source.close()
                    progress.close()
                self._record(report, trigger, began)
                reports.append(report)
            reports += [self._prune(name, trigger) for name in sorted(
                self.store.sources() - {s.name for s in self.settings.sources})]
            if self.store.exists and any(r.added or r.updated or r.deleted or r.reshaped
                                             for r in reports):
                self.store.maintain(self.settings.index.vector_index_min_rows)
            index_counts.record(self.state, self.store, self.settings.lance_uri,
                                self.settings.index.table)
        result = SyncResult(reports, time.perf_counter() - started)
        for listener in list(self.on_synced):
            try:
                listener(result)
            except Exception:  # a listener's bug must not turn a good sync into a failure
                log.exception("sync listener %r failed", listener)
        return result

    def _record(self, report: SourceReport, trigger: str, began: Any) -> None:
        from indexer.sync import run_record

        self.state.record_run(run_record(report, trigger, began), report.failures,
                              report.empties)
        log.info("sync %s: %s added=%d updated=%d unchanged=%d deleted=%d failed=%d "
                 "embedded=%d in %.1fs", report.source, report.status, report.added,
                 report.updated, report.unchanged, report.deleted, report.failed,
                 report.chunks_embedded, report.seconds)

    def _prune(self, name: str, trigger: str) -> SourceReport:
        """Remove every row of a source that is no longer configured. Retrieval already
        ignores it; pruning makes the index hold only what the configuration names."""
        from indexer.sync import SourceReport

        began, started = utcnow(), time.perf_counter()
        docs = sorted(f"{name}:{p}" for p in self.store.documents(name))
        self.store.delete_source(name)
        report = SourceReport(name, deleted=len(docs),
                              changes=dict.fromkeys(docs, "deleted"))
        report.seconds = round(time.perf_counter() - started, 3)
        log.warning("source %s is no longer configured: removed its %d document(s) from the "
                    "index", name, len(docs))
        self._record(report, trigger, began)
        return report

    def retriever(self) -> Retriever:
        """A retriever over the current index; IndexMissingError before the first sync."""
        from indexer.retrieval import Retriever, configured_audiences

        self.store.table  # noqa: B018 - fail early with "run policybot sync"
        return Retriever(self.store, self.embedder, self.settings.retrieval,
                         configured_audiences(self.settings.sources))

    def warm(self) -> float:
        """Loads the embedding model and opens the index now, before a question needs them;
        returns the seconds it took, which callers report apart from answering time."""
        began = time.perf_counter()
        self.store.refresh()
        self.embedder.embed_query("warm up")
        return time.perf_counter() - began
