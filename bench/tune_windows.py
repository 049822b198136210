"""Does a finer granularity rank the gold document first? Sentence windows, measured.

For every answerable slack-dev question, the retriever's top ``--top`` passages (today's
defaults) are rescored by their best *sentence window* (1, 2 or 3 consecutive sentences
under the passage's heading path), embedded with the same bi-encoder: the score an
index of windows pointing to their parent chunk would give those passages. Orders are
compared by the document ranked first (R@1):

- the fused RRF order (today), the passage cosine alone, the best window alone;
- a mix of window and passage cosine;
- RRF of the fused rank and the window rank at several weights.

Decisions look at the tuning questions only (dev ids, 18F + sample handbook); the
held-out Sourcegraph handbook and the test split are printed beside them to show how the
choice would generalise. Window vectors are cached with the bench's vector cache.

Run: ``.venv/bin/python bench/tune_windows.py [--top 10]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
from common import (
    load_slack_dev,
    setup_logging,
    slack_dev_sources,
    slack_dev_split,
    table,
    tuning_records,
    write_results,
)
from retrieval_slackdev import CACHE, CachedEmbedder, policybot_index, slack_queries

SIZES = (1, 2, 3)


def windows(section: str, text: str, size: int) -> list[str]:
    """Every run of ``size`` consecutive sentences of a passage, under its heading path."""
    from indexer.chunking import _SENTENCE

    sents = [s.strip() for line in text.split("\n") for s in _SENTENCE.split(line) if s.strip()]
    out = [section + "\n" + " ".join(sents[i:i + size])
           for i in range(max(1, len(sents) - size + 1))]
    return out or [section + "\n" + text]


def candidates(index: Any, embedder: CachedEmbedder, queries: list[dict[str, Any]],
               top: int) -> list[dict[str, Any]]:
    """Per question: its top passages with fused score, cosine and best-window cosines."""
    from indexer.query import clean_query

    retriever = index.retriever()
    out = []
    for q in queries:
        found = retriever.search(q["query"], k=30, sources=[q["source"]])[:top]
        qv = embedder.embed_query(clean_query(q["query"]))
        rows = []
        for p in found:
            row = {"doc": p.doc_id, "rrf": p.score, "vec": p.vector_score or 0.0}
            for s in SIZES:
                row[f"w{s}"] = float(np.max(embedder.embed(windows(p.section, p.text, s)) @ qv))
            rows.append(row)
        out.append({**q, "c": rows})
    return out


def rank_of(rows: list[dict[str, Any]], key: str) -> dict[int, int]:
    return {id(r): i for i, r in enumerate(sorted(rows, key=lambda r: -r[key]))}


def orders() -> dict[str, Callable[[list[dict[str, Any]]], dict[str, Any]]]:
    """Each variant picks the first passage of a question's candidates."""
    out: dict[str, Callable[[list[dict[str, Any]]], dict[str, Any]]] = {
        "fused RRF (today)": lambda c: max(c, key=lambda r: r["rrf"]),
        "passage cosine": lambda c: max(c, key=lambda r: r["vec"]),
    }
    for s in SIZES:
        out[f"best {s}-sentence window"] = lambda c, s=s: max(c, key=lambda r: r[f"w{s}"])
        out[f"0.3 window{s} + 0.7 cosine"] = lambda c, s=s: max(
            c, key=lambda r: 0.3 * r[f"w{s}"] + 0.7 * r["vec"])
        for w in (0.5, 1.0, 2.0):
            def fuse(c: list[dict[str, Any]], s: int = s, w: float = w) -> dict[str, Any]:
                fr, wr = rank_of(c, "rrf"), rank_of(c, f"w{s}")
                return max(c, key=lambda r: 1 / (60 + fr[id(r)]) + w / (60 + wr[id(r)]))
            out[f"RRF + {w} x window{s} rank"] = fuse
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=10, help="passages rescored per question")
    args = parser.parse_args()
    setup_logging()
    embedder = CachedEmbedder(CACHE / "vectors.npz", cache_queries=True)
    index = policybot_index("slackdev", slack_dev_sources(), embedder, {})
    records = load_slack_dev()
    dev, _ = slack_dev_split(records)
    tune, dev_ids = {r["id"] for r in tuning_records(records)}, {r["id"] for r in dev}
    data = candidates(index, embedder, slack_queries(records), args.top)
    embedder.save()
    groups = {
        "tuning (dev, 18F + sample)": [d for d in data if d["id"] in tune],
        "dev, Sourcegraph (held out)": [d for d in data if d["id"] in dev_ids - tune],
        "test, all": [d for d in data if d["id"] not in dev_ids],
    }
    rows, out = [], {}
    for name, pick in orders().items():
        r1 = {g: float(np.mean([pick(d["c"])["doc"] in d["gold"] for d in qs]))
              for g, qs in groups.items() if qs}
        out[name] = r1
        rows.append([name, *(round(v, 3) for v in r1.values())])
    print(table(["first document by", *(f"R@1 {g} ({len(q)})" for g, q in groups.items())],
                rows))
    print("\nraw:", write_results("tune_windows", {"top": args.top, "r1": out}))


if __name__ == "__main__":
    main()
