"""Experiment (rejected, docs/benchmarks.md section 17): a learned linear map on question
vectors, to rank the page that answers first.

The passages' vectors stay as the sync wrote them; only the question's vector moves,
``q' = normalise(q + A q)``, with ``A`` (384 × 384, from zero, L2 toward zero) fitted so
that each training question's gold passages win a softmax over its 100 nearest passages
and its gold ones. Nothing is re-indexed and a search costs one small product more.

Training questions: the dev halves of ``bench/eval`` (sample and 18F handbooks, public,
answerable: 100), never slack-dev; ``--policyqa N`` adds N PolicyQA *test* questions (each
against every paragraph of its policy), ``--no-eval-sets`` drops the handbook ones. The
comparison is slack-dev dev, gold page first / in the top 5 among distinct pages, plain
vectors against moved ones through the real ``Retriever`` on the answers benchmark's index:
the tuning handbooks' questions are unseen by the fit, Sourcegraph is an unseen corpus.
``--test`` scores the test split too (reported only, never for a decision).

    PYTHONPATH=. .venv/bin/python bench/tune_query_adapter.py [--policyqa 1000] [--test]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import slack_dev
from common import HELD_OUT_CORPUS, load_now, policyqa_asked, setup_logging, table, write_results
from retrieval_slackdev import distinct, first_rank

EVAL = Path(__file__).resolve().parent / "eval"
TRAINING_SETS = (  # file, slack-dev corpus, gold-path prefix in the file → in the index
    ("handbook_dev.jsonl", "sample-handbook", "", ""),
    ("corpora_dev.jsonl", "18f-tts-handbook", "18f/", "pages/"),
)
NEAREST = 100


def eval_examples(index: Any) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    from indexer.query import clean_query

    rows = (index.store.table.search().select(["path", "source", "vector"]).limit(None)
            .to_arrow().to_pylist())
    vecs = np.array([r["vector"] for r in rows], dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    path = np.array([r["path"] for r in rows])
    source = np.array([r["source"] for r in rows])
    qs, cands, golds = [], [], []
    for name, corpus, prefix, folder in TRAINING_SETS:
        for line in (EVAL / name).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("audience") or not r["gold_paths"] or not r["id"].startswith(("hb-", "18f-")):
                continue
            pages = [folder + p.removeprefix(prefix) for p in r["gold_paths"]]
            own = np.nonzero(source == corpus)[0]
            q = index.embedder.embed_query(clean_query(r["question"]))
            q = q / np.linalg.norm(q)
            picked = np.unique(np.concatenate([own[np.argsort(-(vecs[own] @ q))[:NEAREST]],
                                               own[np.isin(path[own], pages)]]))
            qs.append(q)
            cands.append(vecs[picked])
            golds.append(np.isin(path[picked], pages))
    return qs, cands, golds


def policyqa_examples(embedder: Any, limit: int
                      ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    pairs = [(paras, q, idx) for paras, asked in policyqa_asked("test")
             for q, idx in asked.items()]
    pairs = random.Random(0).sample(pairs, min(limit, len(pairs)))
    texts = sorted({t for paras, _, _ in pairs for t in paras})
    vec_of = {t: v / np.linalg.norm(v)
              for t, v in zip(texts, embedder.embed(texts, progress=False), strict=True)}
    qs, cands, golds = [], [], []
    for paras, q, idx in pairs:
        v = embedder.embed_query(q)
        qs.append(v / np.linalg.norm(v))
        cands.append(np.array([vec_of[t] for t in paras]))
        golds.append(np.array([i in idx for i in range(len(paras))]))
    return qs, cands, golds


def fit(qs: list[np.ndarray], cands: list[np.ndarray], golds: list[np.ndarray], l2: float,
        steps: int, temperature: float = 0.05, lr: float = 1e-3) -> np.ndarray:
    """Full-batch Adam from A = 0 (deterministic); candidates padded to one width."""
    import torch

    dim, width = len(qs[0]), max(len(c) for c in cands)
    c = np.zeros((len(cands), width, dim), dtype=np.float32)
    real = np.zeros((len(cands), width), dtype=bool)
    gold = np.zeros((len(cands), width), dtype=bool)
    for i, (ci, gi) in enumerate(zip(cands, golds, strict=True)):
        c[i, :len(ci)], real[i, :len(ci)], gold[i, :len(gi)] = ci, True, gi
    q = torch.tensor(np.array(qs, dtype=np.float32))
    c_t, real_t, gold_t = torch.tensor(c), torch.tensor(real), torch.tensor(gold)
    a = torch.zeros(dim, dim, requires_grad=True)
    opt = torch.optim.Adam([a], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        moved = q + q @ a.T
        moved = moved / moved.norm(dim=1, keepdim=True)
        s = torch.einsum("nwd,nd->nw", c_t, moved) / temperature
        loss = (torch.logsumexp(s.masked_fill(~real_t, -1e9), 1)
                - torch.logsumexp(s.masked_fill(~gold_t, -1e9), 1)).mean()
        (loss + l2 * a.pow(2).sum()).backward()
        opt.step()
    return a.detach().numpy()


def first_page_ranks(index: Any, items: list[dict[str, Any]], matrix: np.ndarray | None,
                     with_test: bool) -> dict[str, list[int | None]]:
    from model.followup import retrieval_query
    from model.passages import Turn

    embedder, retriever = index.embedder, index.retriever()
    plain = embedder.embed_query

    def moved(text: str) -> np.ndarray:
        q = plain(text)
        q = q + matrix @ q if matrix is not None else q
        return (q / np.linalg.norm(q)).astype(np.float32)

    by_id, test = {i["id"]: i for i in items}, slack_dev.test_ids(items)
    out: dict[str, list[int | None]] = {}
    embedder.embed_query = moved
    try:
        for item in items:
            if not item["gold_paths"] or (item["id"] in test and not with_test):
                continue
            earlier = by_id.get(item.get("follows", ""))
            query = retrieval_query(item["question"],
                                    [Turn(earlier["question"], "")] if earlier else [])
            pages = distinct([p.path for p in retriever.search(query, k=30,
                                                               sources=[item["corpus"]])])
            group = (("test" if item["id"] in test else "dev") + ", "
                     + ("held out" if item["corpus"] == HELD_OUT_CORPUS else "tuning"))
            out.setdefault(group, []).append(first_rank(pages, set(item["gold_paths"])))
    finally:
        del embedder.embed_query  # back to the class's method
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--l2", type=float, default=0.03)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--policyqa", type=int, default=0, metavar="N")
    parser.add_argument("--no-eval-sets", action="store_true")
    parser.add_argument("--test", action="store_true")
    args = parser.parse_args()
    setup_logging()
    _, index = slack_dev.index()
    qs, cands, golds = ([], [], []) if args.no_eval_sets else eval_examples(index)
    if args.policyqa:
        pq, pc, pg = policyqa_examples(index.embedder, args.policyqa)
        qs, cands, golds = qs + pq, cands + pc, golds + pg
    matrix = fit(qs, cands, golds, args.l2, args.steps)
    items = slack_dev.questions()
    load = load_now()
    results, lines = {}, []
    for name, m in (("plain vectors", None), ("moved questions", matrix)):
        ranks = first_page_ranks(index, items, m, args.test)
        results[name] = {g: [sum(r == 1 for r in rs), sum(r is not None and r <= 5 for r in rs),
                             len(rs)] for g, rs in sorted(ranks.items())}
        lines.append([name] + [f"{a} / {b} of {n}" for a, b, n in results[name].values()])
    print(f"fitted on {len(qs)} questions (l2 {args.l2}, {args.steps} steps); "
          "gold page first / in top 5:\n")
    print(table(["", *results["plain vectors"]], lines))
    path = write_results("tune_query_adapter", {**vars(args), "trained_on": len(qs),
                                                "load": [load, load_now()], "ranks": results})
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
