"""Query latency of ``Retriever.search`` (embed + vector + BM25 + RRF + neighbour context).

Why: the Slack bot answers while the user waits, so retrieval must stay far below the
generator's own latency, at today's corpus size and at a large deployment's. The large
case is a 100k-chunk table built from the real chunks with perturbed vectors (embedding
100k texts on a CPU takes an hour and measures nothing new), without and with the IVF_PQ
index that ``store.maintain`` adds at ``vector_index_min_rows``. An approximate index is
only a speed-up if it still finds the passages, so its top-10 is compared with brute force,
and two other index types are measured the same way. Each phase of a search is timed alone
to show where the time goes.

Run: ``.venv/bin/python bench/latency.py`` (11–15 min on 2 CPU cores, by load).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from common import (
    corpus_sources,
    latency_ms,
    load_now,
    make_index,
    require_data,
    setup_logging,
    shared_data,
    synthetic_store,
    table,
    time_calls,
    timer,
    vector_top,
    write_results,
)
from lancedb.index import BTree, IvfHnswSq, IvfSq
from questions import QUESTIONS

from indexer.retrieval import Passage, Retriever, build_filter, configured_audiences
from indexer.store import in_list

ROUNDS = 4  # 50 questions × 4 = 200 timed queries per measure
SYNTHETIC_ROWS = 100_000
NOISE = 0.04  # per-dimension σ: a copy keeps cosine ≈ 0.75 to its original
QUERIES = ("LanceDB defaults", "as shipped (Retriever._vector)")
PHASES = ["embed", "vector", "bm25", "context", "context, doc_id IN (proposed)",
          "hybrid, no context", "hybrid (search)"]


def shipped(retriever: Retriever, vectors: dict[str, np.ndarray]) -> Callable[[str], Any]:
    """``q → Retriever._vector(q)`` on precomputed vectors: the retriever's own vector query,
    with whatever tuning it ships, timed without the embedding."""
    precomputed: Any = SimpleNamespace(embed_query=vectors.__getitem__)
    bare = Retriever(retriever.store, precomputed, retriever.settings, retriever.configured)
    n = max(retriever.settings.candidates, retriever.settings.k * 4)
    where = build_filter(None, None, retriever.configured)
    return lambda q: bare._vector(q, where, n)


def context_proposed(retriever: Retriever, passages: list[Passage]) -> list[dict[str, Any]]:
    """The neighbour lookup rewritten as ``doc_id IN (..) AND ordinal IN (..)``: unlike the
    current OR of (doc_id AND ordinal) pairs, LanceDB answers it from a BTREE on doc_id."""
    ordinals = sorted({p.ordinal + d for p in passages for d in (-1, 1)})
    where = (f"{in_list('doc_id', sorted({p.doc_id for p in passages}))} "
             f"AND ordinal IN ({', '.join(map(str, ordinals))})")
    return (retriever.store.table.search().where(where)
            .select(["doc_id", "ordinal", "section", "text"]).limit(None).to_list())


def profile(retriever: Retriever, queries: list[str],
            vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Latency of each phase alone and of the whole ``search``, over the same queries; the
    phases take turns query by query, so a load spike from another process hits all alike."""
    where = build_filter(None, None, retriever.configured)
    n = max(retriever.settings.candidates, retriever.settings.k * 4)
    bare = Retriever(retriever.store, retriever.embedder,
                     retriever.settings.model_copy(update={"neighbours": False}),
                     retriever.configured)
    picked = {q: bare.search(q) for q in set(queries)}
    phases: list[Callable[[str], Any]] = [
        retriever.embedder.embed_query, shipped(retriever, vectors),
        lambda q: retriever._bm25(q, where, n), lambda q: retriever._add_context(picked[q]),
        lambda q: context_proposed(retriever, picked[q]), bare.search, retriever.search]
    spent: list[list[float]] = [[] for _ in phases]
    load = load_now()
    for q in queries:
        for fn, out in zip(phases, spent, strict=True):
            out += time_calls(fn, [q])
    return {"load1": load, "load1_after": load_now(),
            **{p: latency_ms(s) for p, s in zip(PHASES, spent, strict=True)}}


def threads(retriever: Retriever, queries: list[str]) -> dict[str, Any]:
    """End-to-end search with torch's default intra-op threads vs 1, interleaved per round.

    On a shared box (the bot next to a sync, or other jobs) an OpenMP thread waiting for a
    descheduled sibling stalls the whole forward pass; a single thread cannot stall so."""
    import torch

    default, spent = torch.get_num_threads(), {"default": [], "1": []}
    try:
        for start in range(0, len(queries), len(QUESTIONS)):
            for key, n in (("default", default), ("1", 1)):
                torch.set_num_threads(n)
                spent[key] += time_calls(retriever.search, queries[start:start + len(QUESTIONS)])
    finally:
        torch.set_num_threads(default)
    return {"default_threads": default, "load1": load_now(),
            **{f"{k} thread(s)": latency_ms(v) for k, v in spent.items()}}


def recall(retriever: Retriever, vectors: dict[str, np.ndarray], queries: list[str],
           flat_top5: dict[str, list[str]]) -> dict[str, Any]:
    """Against brute force: overlap of the top-10, share of the true top-10 among the 40
    candidates RRF sees, and agreement of the final hybrid top-5 with the flat table's."""
    table_, out = retriever.store.table, {}
    configured = retriever.configured
    exact = {q: set(vector_top(table_, v, 10, configured, brute=True))
             for q, v in vectors.items()}
    as_shipped = shipped(retriever, vectors)
    for name, fn in zip(QUERIES, (lambda q: vector_top(table_, vectors[q], 40, configured),
                                  lambda q: [p.chunk_id for p in as_shipped(q)]), strict=True):
        got = {q: fn(q) for q in vectors}
        out[name] = {
            "overlap@10": float(np.mean([len(set(got[q][:10]) & exact[q]) / 10 for q in got])),
            "top10_in_top40": float(np.mean([len(set(got[q]) & exact[q]) / 10 for q in got])),
            "vector": latency_ms(time_calls(fn, queries))}
    out["hybrid_top5_agreement"] = float(np.mean(
        [len({p.chunk_id for p in retriever.search(q)} & set(flat_top5[q])) / 5
         for q in flat_top5]))
    return out


def main() -> None:
    require_data("corpora")
    setup_logging()
    queries, r = QUESTIONS * ROUNDS, {"queries": len(QUESTIONS) * ROUNDS}
    with tempfile.TemporaryDirectory(prefix="policybot-bench-lat-") as tmp_dir:
        tmp = Path(tmp_dir)
        index = make_index(tmp / "home", corpus_sources(shared_data() / "corpora"))
        r["corpora_sync"] = index.sync().summary()
        vectors = {q: index.embedder.embed_query(q) for q in QUESTIONS}
        small = index.retriever()
        for q in QUESTIONS[:10]:
            small.search(q)  # warm-up: open files, fill the OS cache
        r["corpora"] = {"rows": index.store.table.count_rows(),
                        **profile(small, queries, vectors)}
        r["torch_threads"] = threads(small, queries)
        print(f"corpora ({r['corpora']['rows']} chunks): done", flush=True)

        build: dict[str, float] = {}
        with timer() as t:
            store = synthetic_store(index.store.table.to_arrow(), str(tmp / "synthetic"),
                                    SYNTHETIC_ROWS, NOISE)
        build["write 100k rows"] = t[0]
        with timer() as t:
            store.maintain(vector_index_min_rows=10**9)  # FTS index + compaction only
        build["maintain: FTS + optimize"] = t[0]
        big = Retriever(store, index.embedder, index.settings.retrieval,
                        configured_audiences(index.settings.sources))
        for q in QUESTIONS[:10]:
            big.search(q)
        r["100k flat"] = profile(big, queries, vectors)
        flat_top5 = {q: [p.chunk_id for p in big.search(q)] for q in QUESTIONS}
        with timer() as t:
            store.table.create_index("doc_id", config=BTree())
        build["BTREE on doc_id"] = t[0]
        r["100k flat + btree"] = profile(big, queries, vectors)
        print("100k flat: done", flush=True)
        with timer() as t:
            store.maintain(vector_index_min_rows=1_000)  # over the threshold now: IVF_PQ
        build["maintain: IVF_PQ (as shipped) + optimize"] = t[0]
        for q in QUESTIONS[:10]:
            big.search(q)
        r["100k ivf_pq + btree"] = profile(big, queries, vectors)
        r["recall"] = {"IVF_PQ (store.maintain)": recall(big, vectors, queries, flat_top5)}
        parts = int(SYNTHETIC_ROWS ** 0.5)  # as maintain() chooses
        for name, config in (("IVF_SQ", IvfSq(distance_type="cosine", num_partitions=parts)),
                             ("IVF_HNSW_SQ", IvfHnswSq(distance_type="cosine",
                                                       num_partitions=max(1, parts // 30)))):
            with timer() as t:
                store.table.create_index("vector", config=config, replace=True)
            build[name] = t[0]
            r["recall"][name] = recall(big, vectors, queries, flat_top5)
            print(f"{name}: done", flush=True)
        r["synthetic_rows"], r["build_s"] = store.table.count_rows(), build
    report(r, write_results("latency", r))


def report(r: dict[str, Any], path: Path) -> None:
    """Median / p95 ms per phase and configuration, then index builds and recall."""
    configs = ["corpora", "100k flat", "100k flat + btree", "100k ivf_pq + btree"]
    print(f"\n{r['queries']} queries ({len(QUESTIONS)} distinct × {ROUNDS}); corpora = "
          f"{r['corpora']['rows']} chunks; median / p95 ms\n")
    print(table(["phase", *configs], [
        [p, *(f"{r[c][p]['median_ms']} / {r[c][p]['p95_ms']}" for c in configs)]
        for p in PHASES] + [["load (1 min), before–after",
                             *(f"{r[c]['load1']}–{r[c]['load1_after']}" for c in configs)]]))
    th = r["torch_threads"]
    print(f"\nCorpora, search end-to-end, torch threads (load {th['load1']}):\n")
    print(table(["threads", "median / p95 ms"], [
        [k, f"{v['median_ms']} / {v['p95_ms']}"] for k, v in th.items() if isinstance(v, dict)]))
    print("\nBuilding the 100k table, seconds:\n")
    print(table(["step", "s"], [[k, round(v, 1)] for k, v in r["build_s"].items()]))
    print(f"\nVector index vs brute force, {len(QUESTIONS)} queries:\n")
    print(table(["index", "query", "overlap@10", "true top-10 in top-40", "median / p95 ms",
                 "hybrid top-5 = flat's"], [
        [index, name, round(v["overlap@10"], 3), round(v["top10_in_top40"], 3),
         f"{v['vector']['median_ms']} / {v['vector']['p95_ms']}",
         round(res["hybrid_top5_agreement"], 3) if name == QUERIES[1] else ""]
        for index, res in r["recall"].items() for name, v in res.items() if name in QUERIES]))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    if "--backends" in sys.argv[1:]:  # torch vs ONNX Runtime vs OpenVINO, one run
        import backends

        backends.compare("latency")
    else:
        main()
