"""What ``policybot status`` (and later the Slack App Home) shows about the index."""

from __future__ import annotations

from typing import Any

from indexer.embedding import vector_space
from indexer.scheduler import next_runs


def index_status(index: Any) -> dict[str, Any]:
    """Per source: type, documents, chunks, last sync and its outcome, next run."""
    settings = index.settings
    counts = index.store.counts()
    last = index.state.last_runs()
    upcoming = next_runs(settings.db_url, settings.sources)
    sources = []
    for cfg in settings.sources:
        docs, chunks = counts.get(cfg.name, (0, 0))
        run = last.get(cfg.name)
        next_at, stored = upcoming.get(cfg.name, (None, False))
        sources.append({
            "name": cfg.name, "type": cfg.type, "schedule": cfg.schedule,
            "audience": cfg.audience, "documents": docs, "chunks": chunks,
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
                          "index_spaces": index.store.spaces()},
            "sources": sources,
            # rows from before readers' versions and dates were stored (indexer.dating)
            "undated_rows": index.store.undated(),
            "unconfigured_sources_in_index": orphans}
