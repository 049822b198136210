"""Hybrid retrieval: vector and BM25 candidates fused by weighted Reciprocal Rank Fusion.

RRF needs no score calibration between the two retrievers (cosine similarities and BM25
scores live on different scales) and no reranker weights, which are not available
offline. Each retriever's ranks carry a configurable weight (equal by default: a heavier
vector side won on Slack-style dev questions but lost on a held-out corpus, see
docs/benchmarks.md, section 8). Slack chatter is removed from the query first
(:mod:`indexer.query`). Filters are applied inside both searches (pre-filtering), so a restricted
passage is never even a candidate for someone outside its audience.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from indexer.config import AUDIENCE_RE, RetrievalSettings
from indexer.dating import Dating, stored
from indexer.embedding import Embedder
from indexer.query import clean_query
from indexer.store import ChunkStore, in_list, quote

log = logging.getLogger(__name__)
COLUMNS = ["chunk_id", "doc_id", "source", "path", "title", "section", "url", "text",
           "doc_version", "audience", "start_line", "end_line", "ordinal", "updated_at",
           "version_label", "doc_date", "dated_by", "sections", "links"]
# Columns an index written by an older release may lack: read when present, else empty.
OPTIONAL = frozenset({"version_label", "doc_date", "dated_by", "sections", "links"})


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
    version_label: str | None = None  # what readers are shown (indexer.dating)
    doc_date: str | None = None
    dated_by: str | None = None
    sections: str | None = None  # JSON [[offset, url, heading path]] of merged sections
    links: str | None = None  # JSON [[link text, URL]] of the links in ``text``
    score: float = 0.0  # fused RRF score
    vector_score: float | None = None  # cosine similarity, when a vector candidate
    bm25_score: float | None = None
    context_before: str = ""  # the neighbouring chunks of the same section, when split
    context_after: str = ""

    @property
    def dating(self) -> Dating:
        """The version and date shown beside this passage's document."""
        return stored(self.version_label, self.doc_date, self.dated_by, self.doc_version,
                      self.updated_at)

    @property
    def spans(self) -> tuple[tuple[int, str, str], ...]:
        """(offset in ``text``, link, heading path) of each section merged into this
        chunk; empty when it holds one section (``url`` and ``section`` say it all)."""
        if not self.sections:
            return ()
        try:
            return tuple((int(o), str(u), str(s)) for o, u, s in json.loads(self.sections))
        except (ValueError, TypeError):
            log.warning("chunk %s: unreadable sections column; linking its first section",
                        self.chunk_id)
            return ()

    @property
    def link_pairs(self) -> tuple[tuple[str, str], ...]:
        """(link text, URL) of the links in ``text``, as the parser kept them."""
        try:
            return tuple((str(t), str(u)) for t, u in json.loads(self.links or "[]"))
        except (ValueError, TypeError):
            log.warning("chunk %s: unreadable links column; its text shows without links",
                        self.chunk_id)
            return ()

    def public_dict(self) -> dict[str, Any]:
        shown = self.dating
        return {"source": self.source, "path": self.path, "title": self.title,
                "section": self.section, "url": self.url, "text": self.text,
                "score": round(self.score, 6), "version": shown.version,
                "date": shown.date, "dated_by": shown.kind}


def configured_audiences(sources: Iterable[Any]) -> dict[str, list[str]]:
    """source name → its configured audience (empty: public), from ``[[sources]]``."""
    return {s.name: list(s.audience) for s in sources}


def build_filter(sources: list[str] | None, audiences: list[str] | None,
                 configured: Mapping[str, Sequence[str]]) -> str:
    """SQL filter: public passages plus the caller's audiences, from the sources that are
    configured *now*, allowed to the caller, and whose configured audience admits them.

    The last two are a backstop to the rows' own ``audience``: a source removed from the
    config, or restricted since its rows were written, can never answer, even before the
    next sync re-derives or prunes its rows."""
    for a in audiences or []:
        if not AUDIENCE_RE.match(a):
            raise ValueError(f"invalid audience name {a!r}")
    caller = set(audiences or [])
    visible = "array_length(audience) = 0"
    if caller:
        names = ", ".join(quote(a) for a in sorted(caller))
        visible = f"({visible} OR array_has_any(audience, make_array({names})))"
    wanted = None if sources is None else set(sources)  # an empty allow-list allows nothing
    allowed = sorted(name for name, audience in configured.items()
                     if (wanted is None or name in wanted)
                     and (not audience or caller & set(audience)))
    if not allowed:
        return f"{visible} AND false"
    return f"{visible} AND {in_list('source', allowed)}"


class Retriever:
    """``search`` is the whole interface; modes exist for benchmarks and diagnosis."""

    def __init__(self, store: ChunkStore, embedder: Embedder, settings: RetrievalSettings,
                 configured: Mapping[str, Sequence[str]]) -> None:
        """``configured``: source name → configured audience; only these sources answer."""
        self.store, self.embedder, self.settings = store, embedder, settings
        self.configured = dict(configured)
        self._space_checked = False
        self._columns: list[str] | None = None

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

    def columns(self) -> list[str]:
        """:data:`COLUMNS` this table has: one written by an older release lacks the
        readers' dates until a sync adds them, and must still answer (never a crash)."""
        names = set(self.store.table.schema.names)
        columns = [c for c in COLUMNS if c in names or c not in OPTIONAL]
        if self._columns is None and len(columns) < len(COLUMNS):
            log.warning("the index predates per-document versions and dates: sources show "
                        "the sync day until `policybot sync` re-derives them (no re-embedding)")
        self._columns = columns
        return columns

    def search(self, query: str, k: int | None = None, sources: list[str] | None = None,
               audiences: list[str] | None = None, mode: str = "hybrid") -> list[Passage]:
        """Top ``k`` passages for ``query`` visible to ``audiences``, ``mode`` one of
        hybrid, vector, bm25."""
        if not self._space_checked:
            self.check_space()
        k = k or self.settings.k
        where = build_filter(sources, audiences, self.configured)
        n = max(self.settings.candidates, k * 4)
        if self.settings.clean_query:
            query = clean_query(query)
        lists = []
        # A retriever weighted 0 adds nothing to the fusion, so it is not even run.
        vector_w, bm25_w = self.settings.vector_weight, self.settings.bm25_weight
        if mode == "vector" or (mode == "hybrid" and (vector_w or not bm25_w)):
            lists.append((vector_w, self._vector(query, where, n)))
        if mode == "bm25" or (mode == "hybrid" and bm25_w):
            lists.append((bm25_w, self._bm25(query, where, n)))
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
                .select([*self.columns(), "_distance"]).to_list())
        return [_passage(r, vector_score=1.0 - float(r["_distance"])) for r in rows]

    def _bm25(self, query: str, where: str, n: int) -> list[Passage]:
        try:
            rows = (self.store.table.search(query, query_type="fts",
                                            fts_columns="search_text")
                    .where(where, prefilter=True).limit(n).select([*self.columns(), "_score"])
                    .to_list())
        except Exception as exc:  # malformed query syntax: vector results still stand
            # a question can hold anything (names, a restricted topic): the log gets an id
            # to match it by (sha256 of the text), and the error without the text in it
            qid = hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]
            log.warning("full-text search failed for query %s: %s", qid,
                        str(exc).replace(query, f"<query {qid}>")[:300])
            return []
        return [_passage(r, bm25_score=float(r["_score"])) for r in rows]

    def _fuse(self, lists: list[tuple[float, list[Passage]]]) -> list[Passage]:
        fused: dict[str, Passage] = {}
        single = len(lists) == 1  # one retriever: its ranks as they are, unweighted
        for weight, ranked in lists:
            for rank, p in enumerate(ranked, start=1):
                seen = fused.setdefault(p.chunk_id, p)
                seen.score += (1.0 if single else weight) / (self.settings.rrf_k + rank)
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
    return Passage(**{c: row.get(c) for c in COLUMNS}, **scores)
