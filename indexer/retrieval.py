"""Hybrid retrieval: vector and BM25 candidates fused with Reciprocal Rank Fusion.

RRF needs no score calibration between the two retrievers (cosine similarities and BM25
scores live on different scales) and no reranker weights, which are not available
offline. Filters are applied inside both searches (pre-filtering), so a restricted
passage is never even a candidate for someone outside its audience.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from indexer.config import AUDIENCE_RE, RetrievalSettings
from indexer.embedding import Embedder
from indexer.store import ChunkStore, in_list, quote

log = logging.getLogger(__name__)
COLUMNS = ["chunk_id", "doc_id", "source", "path", "title", "section", "url", "text",
           "doc_version", "audience", "start_line", "end_line", "ordinal", "updated_at"]


@dataclass
class Passage:
    """One retrieved chunk, with the scores that put it there."""

    chunk_id: str
    doc_id: str
    source: str
    path: str
    title: str
    section: str
    url: str
    text: str
    doc_version: str
    audience: list[str]
    start_line: int
    end_line: int
    ordinal: int
    updated_at: Any = None  # when the indexed content last changed (UTC datetime)
    score: float = 0.0  # fused RRF score
    vector_score: float | None = None  # cosine similarity, when a vector candidate
    bm25_score: float | None = None
    context_before: str = ""  # the neighbouring chunks of the same section, when split
    context_after: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def public_dict(self) -> dict[str, Any]:
        return {"source": self.source, "path": self.path, "title": self.title,
                "section": self.section, "url": self.url, "text": self.text,
                "score": round(self.score, 6)}


def build_filter(sources: list[str] | None, audiences: list[str] | None) -> str:
    """SQL filter: the caller's sources, and public passages plus their audiences only."""
    for a in audiences or []:
        if not AUDIENCE_RE.match(a):
            raise ValueError(f"invalid audience name {a!r}")
    visible = "array_length(audience) = 0"
    if audiences:
        names = ", ".join(quote(a) for a in sorted(set(audiences)))
        visible = f"({visible} OR array_has_any(audience, make_array({names})))"
    if sources is None:
        return visible
    if not sources:  # an empty allow-list allows nothing, never everything
        return f"{visible} AND false"
    return f"{visible} AND {in_list('source', sources)}"


class Retriever:
    """``search`` is the whole interface; modes exist for benchmarks and diagnosis."""

    def __init__(self, store: ChunkStore, embedder: Embedder, settings: RetrievalSettings):
        self.store, self.embedder, self.settings = store, embedder, settings
        self._space_checked = False

    def check_space(self) -> dict[str, int]:
        """Rows per vector space that differ from the space queries are embedded in.

        A query vector compared with vectors of another space (another model, or int8
        against fp32) still ranks, but worse: this is said once, loudly, until a sync
        re-embeds those rows (the sync does that by itself)."""
        other = {s: n for s, n in self.store.spaces().items() if s != self.embedder.space}
        if other:
            log.warning("the index holds %s rows embedded in another space than %s (the "
                        "embedding model or backend/precision changed): run `policybot sync` "
                        "to re-embed them", ", ".join(f"{n} {s or 'unknown'}"
                                                      for s, n in sorted(other.items())),
                        self.embedder.space)
        self._space_checked = True
        return other

    def search(self, query: str, k: int | None = None, sources: list[str] | None = None,
               audiences: list[str] | None = None, mode: str = "hybrid") -> list[Passage]:
        """Top ``k`` passages for ``query`` visible to ``audiences``, ``mode`` one of
        hybrid, vector, bm25."""
        if not self._space_checked:
            self.check_space()
        k = k or self.settings.k
        where = build_filter(sources, audiences)
        n = max(self.settings.candidates, k * 4)
        lists = []
        if mode in ("hybrid", "vector"):
            lists.append(self._vector(query, where, n))
        if mode in ("hybrid", "bm25"):
            lists.append(self._bm25(query, where, n))
        passages = self._fuse(lists)
        picked = self._cap_per_doc(passages, k)
        if self.settings.neighbours and picked:
            self._add_context(picked)
        return picked

    def _vector(self, query: str, where: str, n: int) -> list[Passage]:
        vec = self.embedder.embed_query(query)
        # With a quantised (IVF) index, compressed distances alone can lose much of the
        # true top 10 (docs/benchmarks.md); re-ranking 10x candidates exactly keeps ~99%.
        rows = (self.store.table.search(vec, vector_column_name="vector")
                .distance_type("cosine").nprobes(50).refine_factor(10)
                .where(where, prefilter=True).limit(n)
                .select([*COLUMNS, "_distance"]).to_list())
        return [_passage(r, vector_score=1.0 - float(r["_distance"])) for r in rows]

    def _bm25(self, query: str, where: str, n: int) -> list[Passage]:
        try:
            rows = (self.store.table.search(query, query_type="fts",
                                            fts_columns="search_text")
                    .where(where, prefilter=True).limit(n).select([*COLUMNS, "_score"])
                    .to_list())
        except Exception as exc:  # malformed query syntax: vector results still stand
            log.warning("full-text search failed for %r: %s", query[:80], exc)
            return []
        return [_passage(r, bm25_score=float(r["_score"])) for r in rows]

    def _fuse(self, lists: list[list[Passage]]) -> list[Passage]:
        fused: dict[str, Passage] = {}
        for ranked in lists:
            for rank, p in enumerate(ranked, start=1):
                seen = fused.setdefault(p.chunk_id, p)
                seen.score += 1.0 / (self.settings.rrf_k + rank)
                seen.vector_score = seen.vector_score if p.vector_score is None \
                    else p.vector_score
                seen.bm25_score = seen.bm25_score if p.bm25_score is None else p.bm25_score
        return sorted(fused.values(), key=lambda p: (-p.score, p.chunk_id))

    def _cap_per_doc(self, passages: list[Passage], k: int) -> list[Passage]:
        per_doc: dict[str, int] = {}
        out = []
        for p in passages:
            if per_doc.get(p.doc_id, 0) < self.settings.max_per_doc:
                per_doc[p.doc_id] = per_doc.get(p.doc_id, 0) + 1
                out.append(p)
                if len(out) == k:
                    break
        return out

    def _add_context(self, passages: list[Passage]) -> None:
        """Attach the adjacent chunks of the same section: a clause split across two
        chunks is then read whole. Audience needs no check: same document, same rows."""
        # Two IN lists (a superset, matched to pairs below) let LanceDB use a scalar
        # index; an OR of per-passage pairs is planned as a full scan.
        ordinals = sorted({o for p in passages for o in (p.ordinal - 1, p.ordinal + 1)})
        wanted = (f"{in_list('doc_id', {p.doc_id for p in passages})} AND ordinal IN "
                  f"({', '.join(str(o) for o in ordinals)})")
        rows = (self.store.table.search().where(wanted)
                .select(["doc_id", "ordinal", "section", "text"]).limit(None).to_list())
        by_key = {(r["doc_id"], r["ordinal"]): r for r in rows}
        for p in passages:
            before = by_key.get((p.doc_id, p.ordinal - 1))
            after = by_key.get((p.doc_id, p.ordinal + 1))
            if before and before["section"] == p.section:
                p.context_before = before["text"]
            if after and after["section"] == p.section:
                p.context_after = after["text"]


def _passage(row: dict[str, Any], **scores: float) -> Passage:
    return Passage(**{c: row[c] for c in COLUMNS}, **scores)
