"""The LanceDB chunk table: schema, atomic per-document replacement, indexes, lookups.

Each write is one LanceDB commit, so a reader sees a document either as it was or as it
is now, never half-replaced. Nothing here decides *what* to write; that is the sync's job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS, BTree, IvfSq

from indexer.errors import IndexMissingError

log = logging.getLogger(__name__)
LOOKUP_BATCH = 500


def quote(value: str) -> str:
    """A SQL string literal for LanceDB filters."""
    return "'" + value.replace("'", "''") + "'"


def in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(quote(v) for v in values)})"


def chunk_schema(dimension: int) -> pa.Schema:
    return pa.schema([
        ("chunk_id", pa.string()), ("doc_id", pa.string()), ("source", pa.string()),
        ("path", pa.string()), ("title", pa.string()), ("section", pa.string()),
        ("url", pa.string()), ("text", pa.string()),
        ("search_text", pa.string()),  # heading path + text: what BM25 sees
        ("vector", pa.list_(pa.float32(), dimension)),
        ("content_hash", pa.string()), ("doc_hash", pa.string()),
        ("doc_version", pa.string()), ("updated_at", pa.timestamp("us", tz="UTC")),
        ("audience", pa.list_(pa.string())), ("start_line", pa.int32()),
        ("end_line", pa.int32()), ("ordinal", pa.int32()),
        ("embedding", pa.string()),  # the vector space (model + runtime precision)
        *DATING_FIELDS,
    ])


# What readers are shown beside a source (indexer.dating); added to older tables by
# ensure_table, and null in their rows until the next sync re-derives them.
DATING_FIELDS = [pa.field("version_label", pa.string()), pa.field("doc_date", pa.string()),
                 pa.field("dated_by", pa.string()),
                 pa.field("sections", pa.string()),  # merged sections' links, as JSON
                 pa.field("links", pa.string())]  # [[link text, URL]] in the text, as JSON


@dataclass(frozen=True)
class IndexedDoc:
    """What the table holds for one document: enough to decide whether to re-read it."""

    version: str
    doc_hash: str  # CONTENT.SHAPE, see indexer.rows.doc_hash
    audience: tuple[str, ...]


class ChunkStore:
    """One LanceDB table of chunks.

    ``read_consistency_s`` is how stale a read may be: with 0 every read first checks for
    a newer table version, so rows another process (the scheduler, a CLI sync) deleted
    are gone from the very next search; without it a handle keeps the version it opened.
    """

    def __init__(self, uri: str, table: str, read_consistency_s: float | None) -> None:
        self.uri, self.table_name = uri, table
        interval = None if read_consistency_s is None else timedelta(seconds=read_consistency_s)
        self.db = lancedb.connect(uri, read_consistency_interval=interval)
        self._table: Any = None

    @property
    def exists(self) -> bool:
        return self.table_name in self.db.list_tables().tables

    @property
    def table(self) -> Any:
        if self._table is None:
            if not self.exists:
                raise IndexMissingError("the index is empty: run `policybot sync` first")
            self._table = self.db.open_table(self.table_name)
        return self._table

    def ensure_table(self, dimension: int) -> None:
        if not self.exists:
            self._table = self.db.create_table(self.table_name, schema=chunk_schema(dimension))
            return
        schema = self.table.schema
        if "embedding" not in schema.names:
            # Tables from before the column: their space is unknown, so the next sync
            # re-checks every document (a vector whose content hash matches is reused).
            self.table.add_columns([pa.field("embedding", pa.string())])
        missing = [f for f in DATING_FIELDS if f.name not in self.table.schema.names]
        if missing:  # tables from before readers' dates
            self.table.add_columns(missing)
        width = schema.field("vector").type.list_size
        if width != dimension:
            raise IndexMissingError(
                f"the index holds {width}-dimensional vectors but the embedding model makes "
                f"{dimension}: run `policybot sync --full` after deleting {self.uri}")

    def refresh(self) -> None:
        """See commits made since this handle was opened (by a sync in another process)."""
        if self._table is not None:
            self._table.checkout_latest()

    # -- reads used by the sync ---------------------------------------------------------
    def documents(self, source: str) -> dict[str, IndexedDoc]:
        """path → what is indexed, for every document of ``source``."""
        if not self.exists:
            return {}
        rows = (self.table.search().where(f"source = {quote(source)}")
                .select(["path", "doc_version", "doc_hash", "audience"]).limit(None)
                .to_arrow())
        out: dict[str, IndexedDoc] = {}
        for p, v, h, a in zip(rows["path"].to_pylist(), rows["doc_version"].to_pylist(),
                              rows["doc_hash"].to_pylist(), rows["audience"].to_pylist(),
                              strict=True):
            seen = out.get(p)
            # Rows of one document agree; if they ever did not, keep the widest reach
            # (any public row makes it public; else the union), so a parse failure is
            # judged against the worst case.
            if seen is None:
                out[p] = IndexedDoc(v, h, tuple(sorted(set(a or []))))
            elif seen.audience:
                wider = () if not a else tuple(sorted(set(seen.audience) | set(a)))
                out[p] = IndexedDoc(seen.version, seen.doc_hash, wider)
        return out

    def sources(self) -> set[str]:
        """Every source that has rows in the table."""
        if not self.exists:
            return set()
        rows = self.table.search().select(["source"]).limit(None).to_arrow()
        return set(rows["source"].unique().to_pylist())

    def spaces(self) -> dict[str, int]:
        """Rows per vector space in the whole table ("" for rows of unknown space)."""
        if not self.exists:
            return {}
        if "embedding" not in self.table.schema.names:
            return {"": self.table.count_rows()}
        column = (self.table.search().select(["embedding"]).limit(None).to_arrow()
                  ["embedding"].to_pylist())
        counts: dict[str, int] = {}
        for value in column:
            counts[value or ""] = counts.get(value or "", 0) + 1
        return counts

    def vectors_for(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Existing vectors by content hash, so unchanged text is never embedded twice."""
        found: dict[str, np.ndarray] = {}
        if not self.exists or not hashes:
            return found
        unique = sorted(set(hashes))
        for i in range(0, len(unique), LOOKUP_BATCH):
            rows = (self.table.search().where(in_list("content_hash", unique[i:i + LOOKUP_BATCH]))
                    .select(["content_hash", "vector"]).limit(None).to_arrow())
            for h, v in zip(rows["content_hash"].to_pylist(),
                            rows["vector"].to_numpy(zero_copy_only=False), strict=True):
                found[h] = np.asarray(v, dtype=np.float32)
        return found

    # -- writes -------------------------------------------------------------------------
    def replace_documents(self, doc_ids: Sequence[str], rows: list[dict[str, Any]]) -> None:
        """Make ``doc_ids`` hold exactly ``rows``, in one commit."""
        if not doc_ids:
            return
        where = in_list("doc_id", doc_ids)
        if not rows:
            self.table.delete(where)
            return
        data = pa.Table.from_pylist(rows, schema=self.table.schema)
        (self.table.merge_insert("chunk_id").when_matched_update_all()
         .when_not_matched_insert_all().when_not_matched_by_source_delete(where).execute(data))

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        for i in range(0, len(doc_ids), LOOKUP_BATCH):
            self.table.delete(in_list("doc_id", doc_ids[i:i + LOOKUP_BATCH]))

    def delete_source(self, source: str) -> None:
        """Every row of ``source``, in one commit."""
        self.table.delete(f"source = {quote(source)}")

    def maintain(self, vector_index_min_rows: int) -> None:
        """Bring the full-text index up to date, add a vector index once worth it, compact."""
        table = self.table
        indices = {i.name: i for i in table.list_indices()}
        if "search_text_idx" not in indices:
            table.create_index("search_text", config=FTS(), replace=True)
        if "doc_id_idx" not in indices:  # neighbour and per-document lookups
            table.create_index("doc_id", config=BTree(), replace=True)
        rows = table.count_rows()
        if rows >= vector_index_min_rows and "vector_idx" not in indices:
            log.info("creating a vector index over %d chunks", rows)
            partitions = max(1, int(rows ** 0.5))
            # IVF-SQ: builds in ~12 s at 100k on 2 cores (IVF-PQ: 78-136 s, under the
            # sync lock) with the same recall once re-ranked (docs/benchmarks.md).
            table.create_index("vector", config=IvfSq(distance_type="cosine",
                                                      num_partitions=partitions))
        table.optimize()

    # -- status -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, dict[str, Any]]:
        """source → its documents, chunks, rows per vector space and undated rows, in one
        scan: what the sync records for ``policybot status`` (:mod:`indexer.index_counts`)."""
        if not self.exists:
            return {}
        names = self.table.schema.names
        columns = ["source", "doc_id"] + [c for c in ("embedding", "doc_date") if c in names]
        rows = self.table.search().select(columns).limit(None).to_arrow()
        n = rows.num_rows
        spaces = rows["embedding"].to_pylist() if "embedding" in names else [None] * n
        # a table from before readers' dates: every row is undated
        dates = rows["doc_date"].to_pylist() if "doc_date" in names else [None] * n
        docs: dict[str, set[str]] = {}
        out: dict[str, dict[str, Any]] = {}
        for source, doc, space, date in zip(rows["source"].to_pylist(),
                                            rows["doc_id"].to_pylist(), spaces, dates,
                                            strict=True):
            entry = out.setdefault(source, {"documents": 0, "chunks": 0, "spaces": {},
                                            "undated": 0})
            docs.setdefault(source, set()).add(doc)
            entry["chunks"] += 1
            entry["spaces"][space or ""] = entry["spaces"].get(space or "", 0) + 1
            entry["undated"] += date is None
        for source, entry in out.items():
            entry["documents"] = len(docs[source])
        return out

