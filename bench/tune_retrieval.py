"""How the retrieval settings were chosen: a sweep on slack-dev *dev* questions only.

Only dev questions (even ids) of the 18F and sample handbooks are looked at; the
Sourcegraph handbook and every test question stay out of the decision
(``common.tuning_records``). A sample of PolicyQA dev queries is scored beside each
variant as the "does not hurt formal questions" check. Uses the indexes and vector cache
that ``retrieval_slackdev.py`` builds; query vectors are cached too (no latency is
measured here).

Run: ``.venv/bin/python bench/tune_retrieval.py [--policyqa-sample N] [--chunking JSON]``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from common import (
    load_slack_dev,
    setup_logging,
    slack_dev_sources,
    table,
    tuning_records,
    write_results,
)
from retrieval_slackdev import (
    BEFORE,
    CACHE,
    CachedEmbedder,
    first_rank,
    policybot_index,
    policybot_search,
    policyqa,
    run_all,
    scores,
    slack_queries,
)

VARIANTS: dict[str, dict[str, Any]] = {
    "before (plain RRF)": BEFORE["retrieval"],
    "+ query cleanup": {**BEFORE["retrieval"], "clean_query": True},
}
for vw, bw in ((1.5, 1.0), (2.0, 1.0), (3.0, 1.0), (1.0, 1.5), (1.0, 2.0)):
    VARIANTS[f"+ cleanup, weights v{vw} b{bw}"] = {**BEFORE["retrieval"], "clean_query": True,
                                                   "vector_weight": vw, "bm25_weight": bw}
# Document-level aggregation (doc_weight 0.1–1.0) was swept here with the implementation
# of commit 507b1b7 and removed: it lowered R@1 (docs/benchmarks.md, section 8).
for rk in (10, 30):
    VARIANTS[f"+ cleanup, rrf_k {rk}"] = {**BEFORE["retrieval"], "clean_query": True,
                                          "rrf_k": rk}


def sentence_windows(index: Any, source: str, size: int) -> tuple[list[str], list[str]]:
    """(window embed texts, their documents): ``size``-sentence windows of every chunk of
    ``source`` that has more sentences than ``size``, each under its heading path."""
    from indexer.chunking import _SENTENCE

    rows = (index.store.table.search().where(f"source = '{source}'")
            .select(["doc_id", "section", "text"]).limit(None).to_list())
    texts, docs = [], []
    for r in rows:
        sents = [x for line in r["text"].split("\n") for x in _SENTENCE.split(line) if x.strip()]
        if len(sents) <= size:
            continue
        for i in range(0, len(sents), size):
            texts.append(r["section"] + "\n" + " ".join(sents[i:i + size]))
            docs.append(r["doc_id"])
    return texts, docs


def windows_experiment(index: Any, embedder: Any, queries: list[dict[str, Any]],
                       overrides: dict[str, Any], size: int, weights: list[float]
                       ) -> dict[str, Any]:
    """Sentence windows as a third ranked list (vector only), fused at document level with
    the chosen retrieval: doc score = its best passage's score + w / (rrf_k + rank of the
    document's best window). Sample handbook only: windows cost a second embedding pass."""
    from retrieval_slackdev import distinct

    from indexer.query import clean_query
    from indexer.retrieval import Retriever

    texts, docs = sentence_windows(index, "sample-handbook", size)
    matrix = embedder.embed(texts, progress=False)
    settings = index.settings.retrieval.model_copy(update=overrides)
    retriever = Retriever(index.store, index.embedder, settings, index.retriever().configured)
    qs = [q for q in queries if q["source"] == "sample-handbook"]
    out: dict[str, Any] = {"windows": len(texts), "questions": len(qs)}
    for w in [0.0, *weights]:
        ranks = []
        for q in qs:
            found = retriever.search(q["query"], k=30, sources=[q["source"]])
            best: dict[str, float] = {}
            for p in found:
                best[p.doc_id] = max(best.get(p.doc_id, 0.0), p.score)
            sims = matrix @ embedder.embed_query(clean_query(q["query"]))
            window_docs = distinct([docs[i] for i in np.argsort(-sims)[:40]])
            for rank, d in enumerate(window_docs, start=1):
                best[d] = best.get(d, 0.0) + w / (settings.rrf_k + rank)
            ranks.append(first_rank(sorted(best, key=lambda d: -best[d]), q["gold"]))
        out[f"w={w}"] = scores(ranks)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policyqa-sample", type=int, default=400)
    parser.add_argument("--chunking", default="{}", help="chunking overrides (JSON)")
    parser.add_argument("--variants", default="", help="JSON {name: retrieval overrides} "
                        "to run instead of the built-in sweep")
    parser.add_argument("--windows", type=int, default=0,
                        help="also run the sentence-window experiment with this many "
                        "sentences per window, on top of --windows-base")
    parser.add_argument("--windows-base", default="{}", help="retrieval overrides (JSON)")
    args = parser.parse_args()
    setup_logging()
    variants = json.loads(args.variants) if args.variants else VARIANTS
    embedder = CachedEmbedder(CACHE / "vectors.npz", cache_queries=True)
    index = policybot_index("slackdev", slack_dev_sources(), embedder,
                            json.loads(args.chunking))
    records = load_slack_dev()
    tune_ids = {r["id"] for r in tuning_records(records)}
    queries = [q for q in slack_queries(records) if q["id"] in tune_ids]
    if args.windows:
        exp = windows_experiment(index, embedder, queries, json.loads(args.windows_base),
                                 args.windows, [0.5, 1.0, 2.0])
        embedder.save()
        print("sentence windows (sample handbook, tuning questions):", json.dumps(exp))
        write_results("tune_retrieval_windows", exp)
        return
    systems = {name: policybot_search(index, **o) for name, o in variants.items()}
    found, _ = run_all(systems, queries)
    pqa = policyqa(embedder, lambda pb, _nv: {name: policybot_search(pb, **o)
                                               for name, o in variants.items()},
                   args.policyqa_sample) if args.policyqa_sample else {}
    embedder.save()
    rows, out = [], {}
    for name in variants:
        s = scores([first_rank(found[name][q["id"]], q["gold"]) for q in queries])
        p = pqa.get(name, {}).get("lenient", {})
        out[name] = {"slack_dev_tuning": s, "policyqa": pqa.get(name)}
        rows.append([name, round(s["R@1"], 3), round(s["R@5"], 3), round(s["MRR"], 3),
                     round(p.get("R@1", float("nan")), 3), round(p.get("MRR", float("nan")), 3)])
    print(f"\ntuning questions: {len(queries)} (dev, 18F + sample handbook); PolicyQA "
          f"sample: {pqa.get('queries', 0)} queries\n")
    print(table(["variant", "R@1", "R@5", "MRR", "PolicyQA lenient R@1", "PolicyQA MRR"],
                rows))
    print("\nraw:", write_results("tune_retrieval", {"chunking": args.chunking,
                                                    "variants": variants, "results": out}))


if __name__ == "__main__":
    main()
