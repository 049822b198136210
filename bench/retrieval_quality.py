"""Retrieval quality on PolicyQA dev: BM25 vs vector vs hybrid (RRF), side by side.

Why this set-up: PolicyQA questions are answered by one paragraph of one website's privacy
policy, which is PolicyBot's job in miniature (find the passage that answers a policy
question). Each paragraph becomes one document, each policy its own source, and every
question is searched within its policy only (``sources=[policy]``), so the candidates are
"all passages of that policy", as in the dataset. A hit is any chunk of the gold
paragraph's document (a long paragraph may be split into several chunks).

Many PolicyQA questions are templated: the same question text is asked of several
paragraphs of one policy. Only one of them can be ranked first, so besides the strict
score (gold = the question's own paragraph) we report a lenient one (gold = any paragraph
of that policy that carries the identical question). Identical queries are searched once.

Run: ``.venv/bin/python bench/retrieval_quality.py`` (6–13 min on 2 CPU cores, by load).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from common import (
    latency_ms,
    load_now,
    make_index,
    require_data,
    setup_logging,
    table,
    write_results,
)

MODES = ("bm25", "vector", "hybrid")
K = 10
CUTOFFS = (1, 5, 10)


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def write_corpus(dev: dict[str, Any], root: Path) -> tuple[list[dict[str, Any]], list[dict]]:
    """One .txt per paragraph (first line: the policy's name, which the text parser takes
    as the title) and one directory source per policy; returns sources and questions."""
    sources, questions = [], []
    for policy in dev["data"]:
        name = slug(policy["title"])
        folder = root / name
        folder.mkdir(parents=True)
        by_text: dict[str, set[str]] = defaultdict(set)
        asked: list[dict[str, Any]] = []
        for i, para in enumerate(policy["paragraphs"]):
            path = f"p{i:03d}.txt"
            (folder / path).write_text(f"{policy['title']}\n\n{para['context']}\n",
                                       encoding="utf-8")
            for qa in para["qas"]:
                asked.append({"id": qa["id"], "question": qa["question"],
                              "source": name, "gold": f"{name}:{path}"})
                by_text[qa["question"]].add(f"{name}:{path}")
        for q in asked:
            q["gold_any"] = sorted(by_text[q["question"]])
        questions += asked
        sources.append({"name": name, "type": "directory", "path": str(folder)})
    return sources, questions


def first_hit(doc_ids: list[str], gold: set[str]) -> int | None:
    """1-based rank of the first passage from a gold document, None when not in the top K."""
    return next((r for r, d in enumerate(doc_ids, start=1) if d in gold), None)


def scores(ranks: list[int | None]) -> dict[str, float]:
    out = {f"recall@{c}": sum(1 for r in ranks if r and r <= c) / len(ranks) for c in CUTOFFS}
    out[f"mrr@{K}"] = sum(1 / r for r in ranks if r) / len(ranks)
    return out


def random_baseline(dev: dict[str, Any]) -> dict[str, float]:
    """Expected strict scores of a random ranking of the policy's paragraphs: how much of a
    score is the candidate set's small size (a policy has 1 to 95 paragraphs) and not skill."""
    sizes = [len(p["paragraphs"]) for p in dev["data"] for para in p["paragraphs"]
             for _ in para["qas"]]
    out = {f"recall@{c}": sum(min(1.0, c / m) for m in sizes) / len(sizes) for c in CUTOFFS}
    out[f"mrr@{K}"] = sum(sum(1 / r for r in range(1, min(m, K) + 1)) / m
                          for m in sizes) / len(sizes)
    return out


def main() -> None:
    dev_path = require_data("qa", "policyqa", "dev.json")
    setup_logging()
    dev = json.loads(dev_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="policybot-bench-qa-") as tmp_dir:
        tmp = Path(tmp_dir)
        sources, questions = write_corpus(dev, tmp / "docs")
        index = make_index(tmp / "home", sources,
                           retrieval={"max_per_doc": K, "neighbours": False})
        summary = index.sync().summary()
        chunks = index.store.table.count_rows()
        print(f"{len(sources)} policies, {summary['added']} paragraphs, {chunks} chunks, "
              f"{len(questions)} questions; sync {summary['seconds']} s", flush=True)
        retriever = index.retriever()
        for q in questions[:5]:  # warm-up: first queries pay for opening index files
            retriever.search(q["question"], k=K, sources=[q["source"]], mode="hybrid")
        unique = sorted({(q["source"], q["question"]) for q in questions})
        results: dict[str, dict[tuple[str, str], list[str]]] = {m: {} for m in MODES}
        seconds: dict[str, list[float]] = {m: [] for m in MODES}
        load_before = load_now()
        for n, (source, text) in enumerate(unique, start=1):
            for mode in MODES:  # interleaved, so a load spike hits every mode alike
                start = time.perf_counter()
                found = retriever.search(text, k=K, sources=[source], mode=mode)
                seconds[mode].append(time.perf_counter() - start)
                results[mode][(source, text)] = [p.doc_id for p in found]
            if n % 500 == 0:
                print(f"  {n}/{len(unique)} queries", flush=True)
        load_after = load_now()

    report: dict[str, Any] = {}
    for mode in MODES:
        strict = [first_hit(results[mode][(q["source"], q["question"])], {q["gold"]})
                  for q in questions]
        lenient = [first_hit(results[mode][(q["source"], q["question"])], set(q["gold_any"]))
                   for q in questions]
        report[mode] = {"strict": scores(strict), "lenient": scores(lenient),
                        "latency": latency_ms(seconds[mode])}
    report["random (expected)"] = {"strict": random_baseline(dev)}
    multi = sum(1 for q in questions if len(q["gold_any"]) > 1)
    path = write_results("retrieval_quality", {
        "policies": len(sources), "paragraphs": summary["added"], "chunks": chunks,
        "questions": len(questions), "unique_queries": len(unique),
        "questions_with_several_gold": multi, "k": K, "sampled": False,
        "load1_before": load_before, "load1_after": load_after, "modes": report})
    print(f"\nPolicyQA dev: {len(questions)} questions ({len(unique)} distinct per policy; "
          f"{multi} share their text with another paragraph's question), "
          f"{summary['added']} paragraphs → {chunks} chunks, {len(sources)} policies\n")
    rows = []
    for mode in MODES:
        s, lz, lat = report[mode]["strict"], report[mode]["lenient"], report[mode]["latency"]
        rows.append([mode, *(round(s[f"recall@{c}"], 3) for c in CUTOFFS),
                     round(s[f"mrr@{K}"], 3), round(lz["recall@1"], 3),
                     round(lz[f"mrr@{K}"], 3), lat["median_ms"], lat["p95_ms"]])
    rb = report["random (expected)"]["strict"]
    rows.append(["random (expected)", *(round(rb[f"recall@{c}"], 3) for c in CUTOFFS),
                 round(rb[f"mrr@{K}"], 3), "", "", "", ""])
    print(table(["mode", "R@1", "R@5", "R@10", f"MRR@{K}", "lenient R@1",
                 f"lenient MRR@{K}", "median ms", "p95 ms"], rows))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
