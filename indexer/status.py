"""What ``policybot status`` and the Slack App Home show about the index.

The counts come from the state database, where each sync records them
(:mod:`indexer.index_counts`), so status starts without loading LanceDB; only an index
that no sync of this release has counted yet is counted in LanceDB, and said so.
"""

from __future__ import annotations

from typing import Any

from indexer import index_counts
from indexer.embedding import vector_space
from indexer.scheduler import next_runs


def index_status(index: Any) -> dict[str, Any]:
    """Per source: type, documents, chunks, last sync and its outcome, next run."""
    settings = index.settings
    counted = index_counts.current(index.state, settings.lance_uri, settings.index.table,
                                   lambda: index.store)
    counts = counted.sources
    last = index.state.last_runs()
    upcoming = next_runs(settings.db_url, settings.sources)
    sources = []
    for cfg in settings.sources:
        held = counts.get(cfg.name) or index_counts.SourceCounts()
        docs, chunks = held.documents, held.chunks
        run = last.get(cfg.name)
        next_at, stored = upcoming.get(cfg.name, (None, False))
        sources.append({
            "name": cfg.name, "type": cfg.type, "schedule": cfg.schedule,
            "audience": cfg.audience, "documents": docs, "chunks": chunks,
            "spaces": dict(held.spaces or {}),  # rows per vector space ("" = unknown)
            "last_sync": None if run is None else {
                "finished_at": run.finished_at, "status": run.status, "trigger": run.trigger,
                "added": run.added, "updated": run.updated, "unchanged": run.unchanged,
                "deleted": run.deleted, "failed": run.failed, "seconds": run.seconds,
                "error": run.error, "failures": index.state.failures(cfg.name)[:10],
                "empty": run.empty, "empties": index.state.failures(cfg.name, "empty")[:10]},
            "next_run": next_at, "next_run_scheduled": stored,
        })
    orphans = sorted(set(counts) - {s.name for s in settings.sources})
    return {"home": str(settings.home), "index": settings.lance_uri,
            "embedding_model": settings.embedding.model,
            "embedding": {"backend": settings.embedding.backend,
                          "space": vector_space(settings.embedding),
                          "index_spaces": counted.spaces()},
            "sources": sources,
            # recorded (by the last sync) | index (counted now: no sync recorded them yet)
            # | empty (nothing indexed yet)
            "counts_from": counted.origin, "counts_recorded_at": counted.recorded_at,
            # rows from before readers' versions and dates were stored (indexer.dating)
            "undated_rows": counted.undated,
            "unconfigured_sources_in_index": orphans}
