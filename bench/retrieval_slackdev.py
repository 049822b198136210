"""Does the right document come first? PolicyBot's retrieval vs a naive pipeline, one run.

Why: what an extractive answer says comes from the top passages, so the rank of the first
passage from a gold document is what matters. The questions are slack-dev (Slack-style
wording over three handbooks) split by ``common.slack_dev_split`` into dev (tuned on) and
test (reported), per corpus, with the Sourcegraph handbook held out of all tuning; PolicyQA
dev (see ``retrieval_quality.py``) checks that nothing tuned on Slack chatter hurts formal
policy questions. Three systems run over the same questions in the same run, query by
query in turn, so machine load hits them alike:

- ``before``: PolicyBot's retrieval as it was before issue 10 (settings in ``BEFORE``);
- ``now``: PolicyBot's retrieval with today's defaults;
- ``naive``: ≈180-word paragraph chunks, MiniLM, LanceDB FTS, RRF (k = 60), no headings,
  no cleanup: the baseline the issue names.

Scores are over *distinct documents* in rank order: R@1 (the gold document first), R@5,
MRR@10. Follow-ups are searched as the answerer searches them (``retrieval_query`` with the
earlier question); not-covered questions have no gold and are left out.

Indexes live under ``bench/results/cache`` (or ``POLICYBOT_BENCH_CACHE``) and are rebuilt
only when their settings change. Chunk vectors are cached by text there too, so an
experiment re-embeds only new texts; sync timings are therefore measured by
``--sync-timing``, which syncs both chunkings into fresh homes with no vector cache.

Run: ``.venv/bin/python bench/retrieval_slackdev.py [--policyqa-sample N] [--sync-timing]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    BENCH_CACHE,
    HELD_OUT_CORPUS,
    latency_ms,
    load_now,
    load_slack_dev,
    make_index,
    require_data,
    setup_logging,
    slack_dev_gold,
    slack_dev_sources,
    slack_dev_split,
    table,
    write_results,
)
from retrieval_quality import write_corpus

from indexer.config import EmbeddingSettings, load_settings
from indexer.embedding import Embedder, vector_space

CACHE = BENCH_CACHE
INDEX_VERSION = "3"  # bump when chunking code changes what an index holds
K = 10  # distinct documents scored
FETCH = 30  # passages asked for, so that ≥ K distinct documents usually come back
# PolicyBot's retrieval before issue 10, as settings: plain RRF over 200-token chunks.
BEFORE: dict[str, Any] = {
    "retrieval": {"clean_query": False, "vector_weight": 1.0, "bm25_weight": 1.0},
    "chunking": {},  # no chunking change was kept (section 8 of docs/benchmarks.md)
}
# Measured beside "now" because they won on dev but lost on the held-out corpus.
REJECTED: dict[str, dict[str, Any]] = {"vector x3 (rejected)": {"vector_weight": 3.0}}
NAIVE_WORDS = 180
NAIVE_RRF_K = 60


class CachedEmbedder(Embedder):
    """The real model, with chunk vectors remembered by text across runs (bench only).

    Queries are embedded afresh unless ``cache_queries``: their latency is measured."""

    def __init__(self, path: Path, cache_queries: bool = False,
                 seeds: Sequence[str] = ()) -> None:
        """``seeds``: LanceDB folders of other PolicyBot indexes (read only) whose vectors
        are reused by content hash, i.e. for the same model and the same embedded text."""
        super().__init__(EmbeddingSettings(), load_settings().home)
        self.cache_path, self.cache_queries = path, cache_queries
        self.vectors: dict[str, np.ndarray] = {}
        self.seeded: dict[str, np.ndarray] = {}
        self.embedded = 0
        if path.exists():
            data = np.load(path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        for uri in seeds:
            self._seed(uri)

    def _seed(self, uri: str) -> None:
        import lancedb

        try:
            rows = (lancedb.connect(uri).open_table("chunks").search()
                    .select(["content_hash", "vector"]).limit(None).to_arrow())
        except Exception as exc:  # a seed is an optimisation only
            print(f"  (vector seed {uri} unreadable: {exc})")
            return
        for h, v in zip(rows["content_hash"].to_pylist(),
                        rows["vector"].to_numpy(zero_copy_only=False), strict=True):
            self.seeded[h] = np.asarray(v, dtype=np.float32)

    def key(self, text: str) -> str:
        """By vector space and text: vectors of another backend or precision never match."""
        return hashlib.sha1(f"{self.space}\0{text}".encode()).hexdigest()

    def embed(self, texts: list[str], progress: bool | None = None,
              batch_size: int | None = None) -> np.ndarray:
        from indexer.rows import content_hash

        keys = [self.key(t) for t in texts]
        for k, t in zip(keys, texts, strict=True):
            if k not in self.vectors and self.seeded:
                seed = self.seeded.get(content_hash(self.space, t))
                if seed is not None:
                    self.vectors[k] = seed
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True)
                          if k not in self.vectors}.items())
        if missing:
            new = super().embed([t for _, t in missing], progress=progress,
                                batch_size=batch_size)
            self.vectors.update(zip([k for k, _ in missing], new, strict=True))
            self.embedded += len(missing)
        if not texts:
            return super().embed(texts)
        return np.stack([self.vectors[k] for k in keys])

    def embed_query(self, text: str) -> np.ndarray:
        if self.cache_queries:
            return self.embed([text])[0]
        return Embedder.embed(self, [text], progress=False)[0]

    def save(self) -> None:
        keys = list(self.vectors)
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        tmp.replace(self.cache_path)


def settings_key(label: str, sources: list[dict[str, Any]], chunking: dict[str, Any]) -> Path:
    # The default vector space too: an index built with another backend's vectors is
    # another index (PolicyBot's own sync would re-embed it; the naive one would not).
    blob = json.dumps([INDEX_VERSION, vector_space(EmbeddingSettings()), sources, chunking],
                      sort_keys=True)
    return CACHE / f"{label}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


def policybot_index(label: str, sources: list[dict[str, Any]], embedder: Embedder,
                    chunking: dict[str, Any], retrieval: dict[str, Any] | None = None) -> Any:
    """A synced PolicyIndex cached by its sources and chunking settings."""
    home = settings_key(label, sources, chunking)
    index = make_index(home, sources, embedder=embedder, chunking=chunking,
                       retrieval=retrieval or {})
    summary = index.sync().summary()
    if summary["failed"]:
        print(f"  {label}: {summary['failed']} documents failed to parse")
    return index


# -- the naive baseline ----------------------------------------------------------------
def naive_chunks(text: str, words: int = NAIVE_WORDS) -> list[str]:
    """Blank-line paragraphs packed into chunks of about ``words`` words; a paragraph longer
    than 1.5 × ``words`` is cut into ``words``-word pieces."""
    out: list[str] = []
    current: list[str] = []
    count = 0
    for para in re.split(r"\n\s*\n", text):
        n = len(para.split())
        if not n:
            continue
        if n > words * 1.5:
            if current:
                out.append("\n\n".join(current))
                current, count = [], 0
            toks = para.split()
            out += [" ".join(toks[i:i + words]) for i in range(0, n, words)]
            continue
        current.append(para.strip())
        count += n
        if count >= words:
            out.append("\n\n".join(current))
            current, count = [], 0
    if current:
        out.append("\n\n".join(current))
    return out


def naive_text(path: Path) -> str:
    """Raw text for text formats; the parser's blocks for HTML, PDF and DOCX (the naive
    pipeline still needs *some* text out of a binary file)."""
    if path.suffix in (".md", ".txt", ".markdown"):
        return path.read_text(encoding="utf-8", errors="replace")
    from indexer.documents import RawDocument
    from indexer.parsing import parse_document

    kind = {".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}.get(path.suffix)
    if kind is None:
        return ""
    doc = parse_document(RawDocument(path.name, "0", path.read_bytes(), kind))
    return "\n\n".join(b.text for s in doc.sections for b in s.blocks)


class NaiveIndex:
    """Paragraph chunks in one LanceDB table with a native FTS index; hybrid = RRF."""

    def __init__(self, label: str, sources: list[dict[str, Any]], embedder: Embedder) -> None:
        import lancedb
        from lancedb.index import FTS

        self.embedder = embedder
        home = settings_key(f"naive-{label}", sources, {"words": NAIVE_WORDS})
        db = lancedb.connect(str(home))
        done = home / "complete"  # written last: an interrupted build is redone
        building = home.with_name(home.name + ".building")
        while building.exists() and not done.exists():  # another run builds it: wait
            owner = int(building.read_text() or 0)
            if not owner or not Path(f"/proc/{owner}").exists():
                break
            time.sleep(10)
        if not done.exists():
            rows = []
            for src in sources:
                root = Path(src["path"])
                for f in sorted(p for p in root.rglob("*") if p.is_file()):
                    rel = f.relative_to(root).as_posix()
                    for i, text in enumerate(naive_chunks(naive_text(f))):
                        rows.append({"id": f"{src['name']}:{rel}#{i}", "source": src["name"],
                                     "doc_id": f"{src['name']}:{rel}", "text": text})
            vectors = embedder.embed([r["text"] for r in rows], progress=False)
            for r, v in zip(rows, vectors, strict=True):
                r["vector"] = v
            table_ = db.create_table("chunks", data=rows, mode="overwrite")
            table_.create_index("text", config=FTS(), replace=True)
            done.write_text("ok\n", encoding="utf-8")
        self.table = db.open_table("chunks")

    def search(self, query: str, source: str) -> list[str]:
        from indexer.store import quote

        where = f"source = {quote(source)}"
        vec = self.embedder.embed_query(query)
        vrows = (self.table.search(vec, vector_column_name="vector").distance_type("cosine")
                 .where(where, prefilter=True).limit(40).select(["id", "doc_id"]).to_list())
        try:
            frows = (self.table.search(query, query_type="fts", fts_columns="text")
                     .where(where, prefilter=True).limit(40).select(["id", "doc_id"])
                     .to_list())
        except Exception:  # query syntax the FTS parser rejects
            frows = []
        fused: dict[str, float] = {}
        doc: dict[str, str] = {}
        for rows in (vrows, frows):
            for rank, r in enumerate(rows, start=1):
                fused[r["id"]] = fused.get(r["id"], 0.0) + 1.0 / (NAIVE_RRF_K + rank)
                doc[r["id"]] = r["doc_id"]
        ranked = sorted(fused, key=lambda i: (-fused[i], i))
        return distinct([doc[i] for i in ranked])


# -- scoring -------------------------------------------------------------------------------
def distinct(doc_ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for d in doc_ids:
        if d not in out:
            out.append(d)
    return out


def first_rank(ranked: Sequence[str], gold: set[str]) -> int | None:
    return next((i for i, d in enumerate(ranked[:K], start=1) if d in gold), None)


def scores(ranks: Sequence[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {"n": len(ranks),
            "R@1": sum(1 for r in ranks if r == 1) / n,
            "R@5": sum(1 for r in ranks if r and r <= 5) / n,
            "MRR": sum(1 / r for r in ranks if r) / n}


def slack_queries(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answerable records as (id, corpus, source, query, gold); follow-ups carry the
    earlier question as the answerer's ``retrieval_query`` would give it."""
    from model.followup import retrieval_query
    from model.passages import Turn

    by_id = {r["id"]: r for r in records}
    out = []
    for r in records:
        if not r["gold_paths"]:
            continue
        history = []
        if r.get("follows"):
            prev = by_id[r["follows"]]
            history = [Turn(prev["question"], prev["answer"])]
        source, gold = slack_dev_gold(r)
        out.append({"id": r["id"], "corpus": r["corpus"], "source": source, "gold": gold,
                    "query": retrieval_query(r["question"], history)})
    return out


Search = Callable[[str, str], list[str]]  # (query, source) → distinct doc ids


def policybot_search(index: Any, **overrides: Any) -> Search:
    """PolicyBot's Retriever over ``index`` with retrieval settings ``overrides``."""
    from indexer.retrieval import Retriever

    settings = index.settings.retrieval.model_copy(update=overrides)
    retriever = Retriever(index.store, index.embedder, settings, index.retriever().configured)

    def run(query: str, source: str) -> list[str]:
        return distinct([p.doc_id for p in retriever.search(query, k=FETCH,
                                                            sources=[source])])
    return run


def run_all(systems: dict[str, Search], queries: Sequence[dict[str, Any]]
            ) -> tuple[dict[str, dict[str, list[str]]], dict[str, list[float]]]:
    """Every system on every query, in turn per query (load hits all alike)."""
    found: dict[str, dict[str, list[str]]] = {s: {} for s in systems}
    secs: dict[str, list[float]] = {s: [] for s in systems}
    for q in queries:
        for name, fn in systems.items():
            start = time.perf_counter()
            found[name][q["id"]] = fn(q["query"], q["source"])
            secs[name].append(time.perf_counter() - start)
    return found, secs


def slack_report(found: dict[str, dict[str, list[str]]], queries: Sequence[dict[str, Any]],
                 dev_ids: set[str]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for q in queries:
        split = "dev" if q["id"] in dev_ids else "test"
        groups.setdefault(f"{split} {q['corpus']}", []).append(q)
        groups.setdefault(f"{split} all", []).append(q)
        if q["corpus"] != HELD_OUT_CORPUS:
            groups.setdefault(f"{split} tuned corpora", []).append(q)
    out: dict[str, Any] = {}
    for group, qs in sorted(groups.items()):
        out[group] = {s: scores([first_rank(found[s][q["id"]], q["gold"]) for q in qs])
                      for s in found}
    return out


def policyqa(embedder: Embedder, systems_for: Callable[[Any, NaiveIndex], dict[str, Search]],
             sample: int | None) -> dict[str, Any]:
    """PolicyQA dev: each paragraph a document, each policy a source (as in section 2)."""
    dev = json.loads(require_data("qa", "policyqa", "dev.json").read_text(encoding="utf-8"))
    docs = CACHE / "policyqa-docs"
    if not docs.exists():  # written once: the index's document versions are mtimes
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            write_corpus(dev, Path(tmp) / "docs")
            (Path(tmp) / "docs").rename(docs)
    with tempfile.TemporaryDirectory() as scratch:  # the questions, pointing at `docs`
        sources, questions = write_corpus(dev, Path(scratch))
    for s in sources:
        s["path"] = str(docs / Path(s["path"]).name)
    pb = policybot_index("policyqa", sources, embedder, {})
    naive = NaiveIndex("policyqa", sources, embedder)
    systems = systems_for(pb, naive)
    unique = sorted({(q["source"], q["question"]) for q in questions})
    if sample:
        unique = sorted(random.Random(0).sample(unique, min(sample, len(unique))))
    queries = [{"id": str(i), "source": s, "query": t} for i, (s, t) in enumerate(unique)]
    found, secs = run_all(systems, queries)
    by_text = {(q["source"], q["query"]): q["id"] for q in queries}
    out: dict[str, Any] = {"queries": len(queries), "questions": 0}
    strict: dict[str, list[int | None]] = {s: [] for s in systems}
    lenient: dict[str, list[int | None]] = {s: [] for s in systems}
    for q in questions:
        qid = by_text.get((q["source"], q["question"]))
        if qid is None:
            continue
        out["questions"] += 1
        for s in systems:
            strict[s].append(first_rank(found[s][qid], {q["gold"]}))
            lenient[s].append(first_rank(found[s][qid], set(q["gold_any"])))
    for s in systems:
        out[s] = {"strict": scores(strict[s]), "lenient": scores(lenient[s]),
                  "latency": latency_ms(secs[s])}
    return out


def sync_timing(embedder_model: Any, sources: list[dict[str, Any]], repeats: int
                ) -> dict[str, Any]:
    """Full syncs of ``sources`` into fresh homes, old chunking and new in turn, ``repeats``
    times; the model's time is real (no vector cache)."""
    out: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
    for _ in range(repeats):
        for label, chunking in (("before", BEFORE["chunking"]), ("now", {})):
            with tempfile.TemporaryDirectory(dir=CACHE) as home:
                index = make_index(Path(home), sources, embedder=embedder_model,
                                   chunking=chunking)
                load = load_now()
                s = index.sync().summary()
                rows = index.store.table.count_rows()
                out[label].append({"seconds": s["seconds"], "embedded": s["chunks_embedded"],
                                   "rows": rows, "load1": load})
                print(f"  sync {label}: {s['seconds']} s, {s['chunks_embedded']} embedded, "
                      f"{rows} rows (load {load})", flush=True)
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in out.items()}
    return {"sources": [s["name"] for s in sources], "runs": out, "median_s": med,
            "ratio": med["now"] / med["before"]}


def slackdev(embedder: Embedder, records: list[dict[str, Any]], dev_ids: set[str],
             sources: list[dict[str, Any]], only: list[str] | None = None) -> dict[str, Any]:
    """The three systems on every answerable slack-dev question; prints the table."""
    before = policybot_index("slackdev", sources, embedder, BEFORE["chunking"])
    now = policybot_index("slackdev", sources, embedder, {})
    naive = NaiveIndex("slackdev", sources, embedder)
    systems = {"before": policybot_search(before, **BEFORE["retrieval"]),
               "now": policybot_search(now), "naive": naive.search,
               **{name: policybot_search(now, **o) for name, o in REJECTED.items()}}
    systems = {k: v for k, v in systems.items() if not only or k in only}
    queries = slack_queries(records)
    for q in queries[:3]:  # warm-up: first queries open index files
        for fn in systems.values():
            fn(q["query"], q["source"])
    load_q = load_now()
    found, secs = run_all(systems, queries)
    report: dict[str, Any] = {"slack_dev": slack_report(found, queries, dev_ids),
                              "slack_latency": {s: latency_ms(v) for s, v in secs.items()},
                              "load1_queries": [load_q, load_now()]}
    print(f"\nslack-dev: {len(queries)} answerable questions (load {load_q})\n")
    rows = []
    for group, by_sys in report["slack_dev"].items():
        for s, sc in by_sys.items():
            rows.append([group, s, sc["n"], round(sc["R@1"], 3), round(sc["R@5"], 3),
                         round(sc["MRR"], 3)])
    print(table(["split / corpus", "system", "n", "R@1", "R@5", "MRR@10"], rows))
    print("\nretrieval latency (k=30):",
          {s: v["median_ms"] for s, v in report["slack_latency"].items()}, "ms median")
    report["dev_misses_now"] = {q["id"]: found["now"][q["id"]][:3] for q in queries
                                if q["id"] in dev_ids
                                and first_rank(found["now"][q["id"]], q["gold"]) != 1}
    return report


def policyqa_report(embedder: Embedder, sample: int | None) -> dict[str, Any]:
    """The three systems on PolicyQA dev; prints the table."""
    pqa = policyqa(embedder, lambda pb, nv: {
        "before": policybot_search(pb, **BEFORE["retrieval"]),
        "now": policybot_search(pb), "naive": nv.search}, sample)
    print(f"\nPolicyQA dev: {pqa['questions']} questions, {pqa['queries']} distinct "
          f"queries (load {load_now()})\n")
    print(table(["system", "R@1", "R@5", "MRR@10", "lenient R@1", "lenient R@5",
                 "median ms"],
                [[s, round(pqa[s]["strict"]["R@1"], 3), round(pqa[s]["strict"]["R@5"], 3),
                  round(pqa[s]["strict"]["MRR"], 3), round(pqa[s]["lenient"]["R@1"], 3),
                  round(pqa[s]["lenient"]["R@5"], 3), pqa[s]["latency"]["median_ms"]]
                 for s in ("before", "now", "naive")]))
    return pqa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policyqa-sample", type=int, default=None,
                        help="distinct PolicyQA queries to sample (default: all)")
    parser.add_argument("--no-policyqa", action="store_true")
    parser.add_argument("--no-slackdev", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated systems to run on "
                        "slack-dev (default: all)")
    parser.add_argument("--seed", action="append", default=[], metavar="LANCEDB_DIR",
                        help="reuse chunk vectors of another index (same model and text)")
    parser.add_argument("--build-only", choices=("policybot", "naive", "policyqa"),
                        default=None, help="only build (and cache) one of the indexes")
    parser.add_argument("--sync-timing", choices=("sample", "all"), default=None,
                        help="also time full syncs, old chunking vs new, of the sample "
                        "handbook (3 pairs) or of all three corpora (2 pairs; long)")
    args = parser.parse_args()
    setup_logging()
    CACHE.mkdir(parents=True, exist_ok=True)
    embedder = CachedEmbedder(CACHE / "vectors.npz", seeds=args.seed)
    records = load_slack_dev()
    dev, _ = slack_dev_split(records)
    sources = slack_dev_sources()
    load_start = load_now()
    if args.build_only:  # two builds can run side by side; each keeps its own vectors
        if args.build_only == "policybot":
            policybot_index("slackdev", sources, embedder, {})
        elif args.build_only == "policyqa":
            policyqa(embedder, lambda pb, nv: {}, 1)
        else:
            NaiveIndex("slackdev", sources, embedder)
        return
    report: dict[str, Any] = {"load1_start": load_start}
    if not args.no_slackdev:
        report.update(slackdev(embedder, records, {r["id"] for r in dev}, sources,
                               args.only.split(",") if args.only else None))
        embedder.save()
    if not args.no_policyqa:
        report["policyqa"] = policyqa_report(embedder, args.policyqa_sample)
        embedder.save()
    if args.sync_timing:
        plain = Embedder(EmbeddingSettings(), load_settings().home)
        plain.model  # noqa: B018 - loaded outside the timing
        every = slack_dev_sources()
        chosen = every if args.sync_timing == "all" else every[-1:]
        report["sync"] = sync_timing(plain, chosen, 2 if args.sync_timing == "all" else 3)
        print("\nfull sync median s:", report["sync"]["median_s"],
              f"ratio now/before {report['sync']['ratio']:.2f}")
    report["load1_end"] = load_now()
    path = write_results("retrieval_slackdev", report)
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
