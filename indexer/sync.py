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

from indexer.dating import choose
from indexer.documents import DocumentRef, ParsedDocument, RawDocument
from indexer.errors import ParseError, PolicyBotError, SourceError
from indexer.parsing import declares_audience
from indexer.parsing.cleaning import TemplateCleaner
from indexer.parsing.sandbox import parse_ahead, parse_isolated
from indexer.progress import Progress
from indexer.rows import (
    at_least_as_restrictive,
    build_rows,
    content_fingerprint,
    doc_hash,
    effective_audience,
    keywords,
    sha,
    split_doc_hash,
)
from indexer.sources.base import Source
from indexer.state import RunRecord, utcnow
from indexer.store import IndexedDoc

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
    reshaped: int = 0  # documents re-read because the source's configuration changed
    empty: int = 0  # documents read and parsed that hold no text (a redirect-only page)
    seconds: float = 0.0
    error: str | None = None  # the source could not be listed
    failures: list[tuple[str, str]] = field(default_factory=list)
    empties: list[tuple[str, str]] = field(default_factory=list)  # (path, why it is empty)
    # doc_id → its new version, or "deleted": what answers citing these documents missed
    changes: dict[str, str] = field(default_factory=dict)
    # doc_id → how its new version reads to people ("commit 1a2b3c4 · committed 2026-05-01")
    described: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "failed" if self.error else ("partial" if self.failed else "ok")


@dataclass
class _Pending:
    """A changed document, parsed and chunked, waiting for vectors."""

    doc_id: str
    rows: list[dict[str, Any]]
    kind: str  # added | updated | unchanged (content identical, version moved) | empty
    version: str = ""
    write: bool = True  # False: the index already holds exactly these rows (maybe none)
    described: str = ""  # the version and date readers are shown (indexer.dating)


class SourceSync:
    """Syncs one source; owned by :class:`indexer.index.PolicyIndex`, which holds the lock.

    ``shape`` (:func:`indexer.rows.row_shape`) fingerprints the source's configuration as
    it shapes rows; a document indexed under another shape is re-read and re-derived even
    when its version did not move."""

    def __init__(self, index: Any, source: Source, full: bool, progress: Progress,
                 shape: str) -> None:
        self.index, self.source, self.full, self.progress = index, source, full, progress
        self.shape = shape
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
            for path, reason in self.source.skipped:  # symlinks out, files over the cap
                self._fail(path, reason)
            self._sync(refs)
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def _sync(self, refs: list[DocumentRef]) -> None:
        store = self.index.store
        known = store.documents(self.source.name)
        changed: list[tuple[DocumentRef, str | None]] = []
        for ref in refs:
            old = known.get(ref.path)
            if old is not None and split_doc_hash(old.doc_hash)[1] != self.shape:
                # Indexed under another configuration or vector space (the embedding model,
                # backend or precision is part of the shape): read it whole (no conditional
                # request, whose 304 would leave the old rows in place) and re-derive.
                self.report.reshaped += 1
                changed.append((ref, None))
            elif old and not self.full and ref.version is not None and ref.version == old.version:
                self.report.unchanged += 1
            else:
                # --full ignores versions: no conditional GET, so a 304 cannot keep stale rows
                changed.append((ref, old.version if old and not self.full else None))
        if self.report.reshaped:
            log.info("source %s: configuration or embedding space changed, re-deriving %d indexed "
                     "document(s)",
                     self.source.name, self.report.reshaped)
        self._embed_and_write(self._prepare(changed, known))  # streams: batches as parsed
        listed = {r.path for r in refs}
        gone = sorted(f"{self.source.name}:{p}" for p in known if p not in listed)
        if gone:
            store.delete_documents(gone)
            self.report.deleted += len(gone)
            self.report.changes.update(dict.fromkeys(gone, "deleted"))

    def _prepare(self, changed: list[tuple[DocumentRef, str | None]],
                 known: dict[str, IndexedDoc]) -> Iterator[_Pending]:
        self.progress.start_source(self.source.name, len(changed))
        now = utcnow()
        parsing = self.index.settings.parsing  # the worker parses ahead while we embed
        for ref, result, parsed in parse_ahead(self.source.read_many(changed), self.cleaner,
                                                  parsing):
            if result is None:  # the source confirmed the stored version (HTTP 304)
                self.report.unchanged += 1
                continue
            if isinstance(result, Exception):
                # The document may be fine; the fetch failed. Its rows stay, and retrieval
                # still holds them to the source's configured audience.
                self._fail(ref.path, str(result))
                continue
            old = known.get(ref.path)
            try:
                yield self._pending(result, old, now, parsed)
            except ParseError as exc:
                self._parse_failed(result, old, str(exc))
            self.progress.advance_docs()

    def _pending(self, raw: RawDocument, old: IndexedDoc | None, now: Any,
                 parsed: ParsedDocument | ParseError | None = None) -> _Pending:
        index = self.index
        if isinstance(parsed, ParseError):
            raise parsed
        doc = parsed or parse_isolated(raw, self.cleaner, index.settings.parsing)
        audience = effective_audience(self.source, doc.audience)
        terms = keywords(doc.metadata)
        content = content_fingerprint(doc, terms)
        # A page with no validator is versioned by what it says, not by its bytes.
        version = f"sha256:{content}" if raw.version_from_bytes else raw.version
        stored = doc_hash(content, self.shape)
        doc_id = f"{self.source.name}:{raw.path}"
        if old is not None and not self.full and old.version == version \
                and old.doc_hash == stored:
            return _Pending(doc_id, [], "unchanged", version, write=False)
        chunks = index.chunker.chunk(doc)
        dating = choose(doc.dated, raw.dated, raw.dated_by, raw.version_label, now)
        rows = build_rows(self.source, raw.path, version, stored, doc.title, audience,
                          chunks, index.embedder.space, now, doc.line_anchors, terms, dating)
        if not rows:  # a redirect-only or stub page: nothing to index, and said so
            self.report.empties.append((raw.path, empty_reason(doc)))
        if old is None and not rows:
            # Nothing indexed and nothing to index: writing would only commit an empty
            # delete, a new table version on every sync (every few minutes, for ever).
            return _Pending(doc_id, [], "empty", version, write=False)
        if old is None:
            kind = "added"
        else:
            kind = "unchanged" if _same_content(old, content, raw) else "updated"
        return _Pending(doc_id, rows, kind, version, described=dating.describe())

    def _parse_failed(self, raw: RawDocument, old: IndexedDoc | None, reason: str) -> None:
        """Keep the last good rows only when the failed text cannot have narrowed the
        document's audience: its format declares none (so its audience is the source's
        configured one) and the old rows reach no one that audience leaves out. Anything
        else, a Markdown front matter or an HTML ``<meta name="audience">`` that no longer
        parses among them, drops the rows: fail closed."""
        if old is not None:
            new = sorted(set(self.source.audience))
            if not declares_audience(raw.media_type) and \
                    at_least_as_restrictive(list(old.audience), new):
                reason += "; its last good version stays in the index"
            else:
                doc_id = f"{self.source.name}:{raw.path}"
                self.index.store.delete_documents([doc_id])
                self.report.deleted += 1
                self.report.changes[doc_id] = "deleted"
                reason += ("; its indexed rows were removed, since the new version may "
                           "restrict who can read it")
                log.warning("source %s: removed %s from the index: its new version cannot "
                            "be parsed and may restrict its audience", self.source.name,
                            raw.path)
        self._fail(raw.path, reason)

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
        for p in batch:
            if not p.write:  # unchanged, or empty with nothing indexed
                setattr(self.report, p.kind, getattr(self.report, p.kind) + 1)
        batch = [p for p in batch if p.write]
        if not batch:
            return
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
                self.report.described[p.doc_id] = p.described


def empty_reason(doc: ParsedDocument) -> str:
    """Why a parsed document gave no rows: where a redirect-only page points, when it
    says (an HTML ``<meta http-equiv="refresh">``, a Jekyll ``redirect_to``), else that
    it holds no text."""
    target = doc.metadata.get("redirect_to")
    refresh = doc.metadata.get("refresh")
    if not target and isinstance(refresh, str) and "url=" in refresh.lower():
        target = refresh[refresh.lower().index("url=") + 4:].strip(" '\"")
    if isinstance(target, list):
        target = target[0] if target else None
    if target:
        return f"redirect-only page (to {str(target)[:200]}): no text to index"
    return "no text to index (an empty or stub page)"


def _same_content(old: IndexedDoc, content: str, raw: RawDocument) -> bool:
    """Did the document's content stay the same? Rows written before content
    fingerprints existed hold a hash of the raw bytes, compared as such."""
    old_content, shape = split_doc_hash(old.doc_hash)
    return old_content == (content if shape else sha(raw.content))


def run_record(report: SourceReport, trigger: str, started: Any) -> RunRecord:
    return RunRecord(source=report.source, trigger=trigger, started_at=started,
                     finished_at=utcnow(), status=report.status, added=report.added,
                     updated=report.updated, unchanged=report.unchanged,
                     deleted=report.deleted, failed=report.failed, empty=report.empty,
                     chunks_embedded=report.chunks_embedded, seconds=report.seconds,
                     error=report.error)


__all__ = ["PolicyBotError", "SourceReport", "SourceSync", "run_record"]
