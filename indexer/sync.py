"""Incremental sync of one or more sources into the chunk table.

Per source: list → compare versions with what is indexed → read and parse only what
changed (or whose vectors come from another embedding space: model, runtime precision) →
embed only chunks whose content hash is new → replace each changed document in one
commit → prune what the source no longer lists. A source that cannot be listed keeps
every row it had: a failed sync never deletes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from indexer.documents import DocumentRef, RawDocument
from indexer.errors import ParseError, PolicyBotError, SourceError
from indexer.parsing import parse_document
from indexer.parsing.cleaning import TemplateCleaner
from indexer.progress import Progress
from indexer.rows import build_rows, effective_audience, keywords, sha
from indexer.sources.base import Source
from indexer.state import RunRecord, utcnow

log = logging.getLogger(__name__)
WRITE_BATCH_CHUNKS = 512


@dataclass
class SourceReport:
    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    error: str | None = None  # the source could not be listed
    failures: list[tuple[str, str]] = field(default_factory=list)
    # doc_id → its new version, or "deleted": what answers citing these documents missed
    changes: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "failed" if self.error else ("partial" if self.failed else "ok")


@dataclass
class _Pending:
    """A changed document, parsed and chunked, waiting for vectors."""

    doc_id: str
    rows: list[dict[str, Any]]
    kind: str  # added | updated | unchanged (content identical, version moved)
    version: str = ""


class SourceSync:
    """Syncs one source; owned by :class:`indexer.index.PolicyIndex`, which holds the lock."""

    def __init__(self, index: Any, source: Source, full: bool, progress: Progress) -> None:
        self.index, self.source, self.full, self.progress = index, source, full, progress
        chunking = index.settings.chunking
        self.cleaner = TemplateCleaner(chunking.strip_template_tags, chunking.strip_patterns)
        self.report = SourceReport(source.name)

    def run(self) -> SourceReport:
        started = time.perf_counter()
        try:
            refs = list(self.source.list())
        except (SourceError, OSError) as exc:
            self.report.error = str(exc)
            log.error("source %s: listing failed, keeping its indexed documents: %s",
                      self.source.name, exc)
        else:
            self._sync(refs)
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def _sync(self, refs: list[DocumentRef]) -> None:
        store = self.index.store
        known = store.documents(self.source.name)
        foreign = store.foreign_documents(self.source.name, self.index.embedder.space)
        if foreign:
            log.warning("source %s: %d documents hold vectors from another embedding space "
                        "than %s (model or backend/precision changed); re-embedding them",
                        self.source.name, len(foreign), self.index.embedder.space)
        changed: list[tuple[DocumentRef, str | None]] = []
        for ref in refs:
            old = known.get(ref.path)
            if (old and not self.full and ref.version is not None and ref.version == old[0]
                    and ref.path not in foreign):
                self.report.unchanged += 1
            else:
                # A foreign document is read afresh (no "not modified" shortcut).
                changed.append((ref, old[0] if old and ref.path not in foreign else None))
        self._embed_and_write(self._prepare(changed, known))  # streams: batches as parsed
        listed = {r.path for r in refs}
        gone = sorted(f"{self.source.name}:{p}" for p in known if p not in listed)
        if gone:
            store.delete_documents(gone)
            self.report.deleted = len(gone)
            self.report.changes.update(dict.fromkeys(gone, "deleted"))

    def _read_all(self, changed: list[tuple[DocumentRef, str | None]]) -> Iterator[Any]:
        read_many = getattr(self.source, "read_many", None)
        if read_many is not None:
            yield from read_many(changed)
            return
        for ref, previous in changed:
            try:
                yield ref, self.source.read(ref, previous)
            except SourceError as exc:
                yield ref, exc

    def _prepare(self, changed: list[tuple[DocumentRef, str | None]],
                 known: dict[str, tuple[str, str]]) -> Iterator[_Pending]:
        self.progress.start_source(self.source.name, len(changed))
        now = utcnow()
        for ref, result in self._read_all(changed):
            if result is None:  # the source confirmed the stored version (HTTP 304)
                self.report.unchanged += 1
                continue
            if isinstance(result, Exception):
                self._fail(ref.path, str(result))
                continue
            try:
                yield self._pending(result, known.get(ref.path), now)
            except ParseError as exc:
                self._fail(ref.path, str(exc))
            self.progress.advance_docs()

    def _pending(self, raw: RawDocument, old: tuple[str, str] | None, now: Any) -> _Pending:
        index = self.index
        doc = parse_document(raw, self.cleaner)
        audience = effective_audience(self.source, doc.audience)
        chunks = index.chunker.chunk(doc)
        doc_hash = sha(raw.content)
        rows = build_rows(self.source, raw.path, raw.version, doc_hash, doc.title, audience,
                          chunks, index.embedder.space, now, doc.line_anchors,
                          keywords(doc.metadata))
        if old is None:
            kind = "unchanged" if not rows else "added"  # an empty page adds nothing
        else:
            kind = "unchanged" if old[1] == doc_hash else "updated"
        return _Pending(f"{self.source.name}:{raw.path}", rows, kind, raw.version)

    def _fail(self, path: str, reason: str) -> None:
        log.warning("source %s: skipped %s: %s", self.source.name, path, reason)
        self.report.failed += 1
        self.report.failures.append((path, reason))

    def _embed_and_write(self, pending: Iterator[_Pending]) -> None:
        """Vectors from the store where the hash is known, the model for the rest."""
        batch: list[_Pending] = []
        size = 0
        for item in pending:
            batch.append(item)
            size += len(item.rows)
            if size >= WRITE_BATCH_CHUNKS:
                self._write(batch)
                batch, size = [], 0
        if batch:
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        store, embedder = self.index.store, self.index.embedder
        rows = [r for p in batch for r in p.rows]
        vectors = store.vectors_for([r["content_hash"] for r in rows])
        missing: dict[str, str] = {}
        for r in rows:
            if r["content_hash"] not in vectors:
                missing.setdefault(r["content_hash"], r["_embed"])
        if missing:
            new = embedder.embed(list(missing.values()), progress=False)
            vectors.update(zip(missing, new, strict=True))
            self.report.chunks_embedded += len(missing)
            self.progress.advance_chunks(len(missing))
        for r in rows:
            r["vector"] = vectors[r["content_hash"]]
            del r["_embed"]
        store.ensure_table(embedder.dimension)
        store.replace_documents([p.doc_id for p in batch], rows)
        for p in batch:
            setattr(self.report, p.kind, getattr(self.report, p.kind) + 1)
            if p.kind == "updated":
                self.report.changes[p.doc_id] = p.version


def run_record(report: SourceReport, trigger: str, started: Any) -> RunRecord:
    return RunRecord(source=report.source, trigger=trigger, started_at=started,
                     finished_at=utcnow(), status=report.status, added=report.added,
                     updated=report.updated, unchanged=report.unchanged,
                     deleted=report.deleted, failed=report.failed,
                     chunks_embedded=report.chunks_embedded, seconds=report.seconds,
                     error=report.error)


__all__ = ["PolicyBotError", "SourceReport", "SourceSync", "run_record"]
