"""Embedding backends side by side: torch fp32, ONNX Runtime fp32/int8, OpenVINO fp32/int8.

Why one run, one process per backend: the machine is shared, so only ratios measured in
the same run mean anything, and peak RSS is only a backend's own in a process that loaded
nothing else. Each backend's worker process (``--worker BACKEND``): a full sync of the two
public handbooks plus the sample handbook into a fresh home (chunks/s), query embedding
latency (slack-dev and PolicyQA questions, one at a time), ``Answerer.answer`` latency on
that index (extractive), slack-dev doc R@1/R@5 (odd ids: the test split) and PolicyQA dev
R@5/MRR@10 (strict gold, hybrid search; a deterministic sample of queries), and its peak
RSS. The parent then compares every chunk vector with torch fp32's (cosine per chunk) and
times the cold start of ``policybot ask`` (process start to printed answer) per backend.
Exports are made before any timing (they are a one-off per model).

Run: ``.venv/bin/python bench/indexing.py --backends`` or ``bench/latency.py --backends``
(both run this comparison; 20-40 min on 2 busy cores).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    corpus_sources,
    latency_ms,
    load_now,
    make_index,
    median,
    require_data,
    setup_logging,
    shared_data,
    table,
    write_results,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "indexer" / "sample_handbook"
BACKENDS = {  # label → embedding settings, in the order they run
    "torch fp32": {"backend": "torch", "quantize": False},
    "onnx int8": {"backend": "onnx", "quantize": True},
    "onnx int8-ffn-fp32": {"backend": "onnx", "quantize": "dynamic-ffn-fp32"},
    "onnx fp32": {"backend": "onnx", "quantize": False},
    "openvino fp32": {"backend": "openvino", "quantize": False},
    "openvino int8": {"backend": "openvino", "quantize": True},
    "openvino int8-nncf": {"backend": "openvino", "quantize": "nncf"},
}
POLICYQA_QUERIES = 200  # of ~2,600 distinct; every n-th, so all policies are represented
ASK_QUESTIONS = 20
COLD_RUNS = 2
GOLD_PREFIX = {"18f-tts-handbook": ("tts-handbook", "pages/"),
               "sourcegraph-handbook": ("sourcegraph-handbook", ""),
               "sample-handbook": ("sample", "")}


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


SMOKE = os.environ.get("POLICYBOT_BENCH_SMOKE") == "1"  # a quick check of the script itself


def sources_for() -> list[dict[str, Any]]:
    sample = {"name": "sample", "type": "directory", "path": str(SAMPLE)}
    return [sample] if SMOKE else [*corpus_sources(shared_data() / "corpora"), sample]


def slack_dev_test(every: bool = False) -> list[dict[str, Any]]:
    """slack-dev questions with a gold document and an odd id (the split we report on), or
    with ``every`` all of them: no backend is tuned on slack-dev, and at 1/63 a step the
    test split alone cannot tell one question of noise from a 0.01 loss."""
    path = shared_data() / "qa" / "slack-dev" / "questions.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q.get("gold_paths") and (every or int(re.sub(r"\D", "", q["id"])) % 2 == 1):
            source, prefix = GOLD_PREFIX[q["corpus"]]
            q["gold_docs"] = {f"{source}:{p.removeprefix(prefix)}" for p in q["gold_paths"]}
            out.append(q)
    return out


def policyqa(root: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    """One document per paragraph, one source per policy (as bench/retrieval_quality.py);
    returns sources and a deterministic sample of distinct (source, question, gold)."""
    dev = json.loads((shared_data() / "qa" / "policyqa" / "dev.json").read_text())
    sources, queries = [], {}
    for policy in dev["data"]:
        name = slug(policy["title"])
        folder = root / name
        folder.mkdir(parents=True)
        for i, para in enumerate(policy["paragraphs"]):
            (folder / f"p{i:03d}.txt").write_text(f"{policy['title']}\n\n{para['context']}\n")
            for qa in para["qas"]:
                queries.setdefault((name, qa["question"]), f"{name}:p{i:03d}.txt")
        sources.append({"name": name, "type": "directory", "path": str(folder)})
    keys = sorted(queries)
    step = max(1, len(keys) // POLICYQA_QUERIES)
    picked = keys[::step][:30 if SMOKE else POLICYQA_QUERIES]
    return sources, [(s, q, queries[(s, q)]) for s, q in picked]


def first_hit(doc_ids: list[str], gold: set[str]) -> int | None:
    seen: list[str] = []
    for d in doc_ids:  # rank by distinct documents
        if d not in seen:
            seen.append(d)
    return next((r for r, d in enumerate(seen, start=1) if d in gold), None)


def worker(label: str, home: Path) -> dict[str, Any]:
    """Everything measured inside one backend's own process."""
    data = require_data("corpora")
    setup_logging()
    emb = BACKENDS[label]
    started = time.perf_counter()
    index = make_index(home / "corpora", sources_for(), embedding=emb)
    load_s = time.perf_counter() - started
    load1 = load_now()
    t = time.perf_counter()
    summary = index.sync().summary()
    sync_s = time.perf_counter() - t
    if summary["failed"]:
        raise RuntimeError(f"the sync failed: {summary}")
    rows = index.store.table.search().select(["chunk_id", "vector"]).limit(None).to_arrow()
    np.save(home / "vectors.npy", np.stack(rows["vector"].to_numpy(zero_copy_only=False)))
    (home / "chunk_ids.json").write_text(json.dumps(rows["chunk_id"].to_pylist()))

    result: dict[str, Any] = {
        "label": label, "model_load_s": load_s, "sync_s": sync_s,
        "chunks": summary["chunks_embedded"], "chunks_per_s": summary["chunks_embedded"]
        / sync_s, "load1_at_sync": load1, "space": index.embedder.space}
    try:
        result.update(_questions(index, home, emb, data))
    except Exception as exc:  # keep the sync figures; say what failed
        result["error"] = repr(exc)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _questions(index: Any, home: Path, emb: dict[str, Any], data: Path) -> dict[str, Any]:
    slack = slack_dev_test()
    qa_root = home / "policyqa-docs"
    qa_sources, qa_queries = policyqa(qa_root)
    queries = [q["question"] for q in slack] + [q for _, q, _ in qa_queries[:100]]
    for q in queries[:10]:
        index.embedder.embed_query(q)
    embed_s = []
    for q in queries:
        t = time.perf_counter()
        index.embedder.embed_query(q)
        embed_s.append(time.perf_counter() - t)

    retriever = index.retriever()
    every = slack_dev_test(every=True)
    all_ranks = {q["id"]: first_hit([p.doc_id for p in retriever.search(q["question"], k=10)],
                                    q["gold_docs"]) for q in every}
    ranks = [all_ranks[q["id"]] for q in slack]
    slack_scores = {"doc_R@1": sum(1 for r in ranks if r == 1) / len(ranks),
                    "doc_R@5": sum(1 for r in ranks if r and r <= 5) / len(ranks),
                    "questions": len(ranks),
                    "all_doc_R@1": sum(1 for r in all_ranks.values() if r == 1) / len(every),
                    "all_doc_R@5": sum(1 for r in all_ranks.values() if r and r <= 5)
                    / len(every), "all_questions": len(every),
                    "ranks": all_ranks}

    from bot.answering import build_answerer
    from bot.settings import load_app_settings

    app = load_app_settings(None, home=home / "corpora", sources=sources_for(),
                            embedding=emb)
    answerer = build_answerer(app, index)
    asks = [q["question"] for q in slack][:ASK_QUESTIONS]
    for q in asks[:3]:
        answerer.answer(q)
    ask_s = []
    for q in asks:
        t = time.perf_counter()
        answerer.answer(q)
        ask_s.append(time.perf_counter() - t)

    qa_index = make_index(home / "policyqa", qa_sources, index.embedder,
                          retrieval={"max_per_doc": 10, "neighbours": False},
                          embedding=emb)
    qa_sync = qa_index.sync().summary()
    qa_ret = qa_index.retriever()
    qa_ranks = [first_hit([p.doc_id for p in qa_ret.search(q, k=10, sources=[s])], {g})
                for s, q, g in qa_queries]
    qa_scores = {"R@5": sum(1 for r in qa_ranks if r and r <= 5) / len(qa_ranks),
                 "MRR@10": sum(1 / r for r in qa_ranks if r) / len(qa_ranks),
                 "queries": len(qa_ranks), "chunks": qa_sync["chunks_embedded"]}
    return {"query_embed": latency_ms(embed_s), "ask": latency_ms(ask_s),
            "slack_dev": slack_scores, "policyqa": qa_scores}


def cold_start(label: str, home: Path, question: str) -> list[float]:
    """Seconds from starting ``policybot ask`` to its exit with the answer printed."""
    env = {**os.environ, "POLICYBOT_HOME": str(home / "corpora"),
           "POLICYBOT_EMBEDDING__BACKEND": BACKENDS[label]["backend"],
           "POLICYBOT_EMBEDDING__QUANTIZE": str(BACKENDS[label]["quantize"]).lower()}
    exe = str(Path(sys.executable).with_name("policybot"))
    out = []
    for _ in range(COLD_RUNS):
        t = time.perf_counter()
        proc = subprocess.run([exe, "ask", question], env=env, capture_output=True, text=True,
                              timeout=300)
        out.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise RuntimeError(f"policybot ask failed ({label}): {proc.stderr[-2000:]}")
    return out


def cosines(base: Path, other: Path) -> dict[str, float]:
    """Per-chunk cosine of ``other``'s vectors to ``base``'s, matched by chunk id."""
    ids_a = json.loads((base / "chunk_ids.json").read_text())
    ids_b = {c: i for i, c in enumerate(json.loads((other / "chunk_ids.json").read_text()))}
    a, b = np.load(base / "vectors.npy"), np.load(other / "vectors.npy")
    pairs = [(i, ids_b[c]) for i, c in enumerate(ids_a) if c in ids_b]
    va, vb = a[[i for i, _ in pairs]], b[[j for _, j in pairs]]
    cos = (va * vb).sum(1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))
    return {"min": float(cos.min()), "mean": float(cos.mean()), "p01": float(
        np.percentile(cos, 1)), "chunks": len(pairs),
        "below_0.99": int((cos < 0.99).sum())}


def available(labels: list[str]) -> list[str]:
    out = []
    for label in labels:
        mod = "openvino" if label.startswith("openvino") else "onnxruntime"
        if label.startswith("torch"):
            mod = "torch"
        try:
            __import__(mod)
            out.append(label)
        except ImportError:
            print(f"skipped {label}: {mod} is not installed")
    return out


def compare(part: str, only: list[str] | None = None) -> None:
    require_data("corpora")
    labels = available([b for b in BACKENDS if not only or b in only])
    from indexer.config import EmbeddingSettings
    from indexer.embedding import Embedder

    with tempfile.TemporaryDirectory(prefix="policybot-bench-backends-") as tmp_dir:
        tmp = Path(tmp_dir)
        results: dict[str, Any] = {}
        for label in labels:
            home = tmp / slug(label)
            home.mkdir()
            if BACKENDS[label]["backend"] != "torch":  # export before anything is timed
                Embedder(EmbeddingSettings(**BACKENDS[label]), home / "corpora").export()
            before = load_now()
            proc = subprocess.run([sys.executable, __file__, "--worker", label, str(home)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{label}: worker failed:\n{proc.stderr[-3000:]}")
                continue
            results[label] = json.loads(proc.stdout.strip().splitlines()[-1])
            results[label]["load1_before"] = before
            print(f"{label}: {results[label]}", flush=True)
            write_results("backends-partial", results)  # a long run can be cut short
        question = "How many days of annual leave do I get?"
        for label in results:  # interleaved rounds: load drift hits every backend alike
            home = tmp / slug(label)
            try:
                results[label]["cold_start_s"] = cold_start(label, home, question)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                results[label]["cold_start_error"] = str(exc)[-500:]
            if label != "torch fp32" and "torch fp32" in results:
                results[label]["cosine_to_torch"] = cosines(tmp / "torch-fp32", home)
    report(results, part)


def report(results: dict[str, Any], part: str) -> None:
    path = write_results("backends", results)
    base = results.get("torch fp32")
    rows = []
    for label, r in results.items():
        if "error" in r or "cold_start_s" not in r:
            print(f"{label}: {r.get('error') or r.get('cold_start_error')}")
            r.setdefault("cold_start_s", [float("nan")])
            if "error" in r:
                continue
        cos = r.get("cosine_to_torch")
        speed = base["sync_s"] / r["sync_s"] if base else float("nan")
        rows.append([
            label, round(r["chunks_per_s"], 1), f"{speed:.2f}×",
            r["query_embed"]["median_ms"], r["query_embed"]["p95_ms"],
            r["ask"]["median_ms"], round(median(r["cold_start_s"]), 2),
            round(r["peak_rss_mb"]), round(r["policyqa"]["R@5"], 3),
            round(r["policyqa"]["MRR@10"], 3), round(r["slack_dev"]["doc_R@1"], 3),
            round(r["slack_dev"]["doc_R@5"], 3),
            f"{r['slack_dev'].get('all_doc_R@1', float('nan')):.3f} / "
            f"{r['slack_dev'].get('all_doc_R@5', float('nan')):.3f}",
            "" if cos is None else f"{cos['min']:.4f} / {cos['mean']:.4f}"])
    print(table(["backend", "sync chunks/s", "sync vs torch", "query p50 ms", "query p95 ms",
                 "ask p50 ms", "cold ask s", "peak RSS MB", "PolicyQA R@5", "MRR@10",
                 "slack-dev R@1", "R@5", "all slack-dev R@1 / R@5", "cosine min / mean"],
                rows))
    print(f"\n({part} view of the shared backend comparison) raw results: {path}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], Path(sys.argv[3]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--only":  # e.g. --only "torch fp32,onnx int8"
        compare("backends", [b.strip() for b in sys.argv[2].split(",")])
    else:
        compare("backends")
