"""Chooses the abstention rule on the dev halves of bench/eval/ (never on test).

Confidence = best passage cosine + w × best share of question words found in one of the
top three passages. For each w and threshold, abstain recall and false-abstain rate are
computed on the sample handbook and on the public corpora separately; the rule kept is
the one with the best mean (recall − false-abstain) whose false-abstain rate stays at or
under 8 % on *both*, since refusing to answer a covered question is what users mind most.

    .venv/bin/python bench/tune_abstention.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import require_data, setup_logging, write_results

EVAL = Path(__file__).resolve().parent / "eval"
MAX_FALSE_ABSTAIN = 0.08


def _features(sources: list[dict[str, Any]], qa: str, home: Path) -> list[tuple[float, ...]]:
    from bot.answering import numbered
    from bot.settings import load_app_settings
    from indexer.index import PolicyIndex
    from model.text import overlap, terms

    settings = load_app_settings(home=home, sources=sources)
    index = PolicyIndex(settings)
    index.sync()
    retriever = index.retriever()
    rows = []
    for line in (EVAL / qa).read_text().splitlines():
        item = json.loads(line)
        found = numbered(retriever.search(item["question"], k=5,
                                          audiences=item.get("audience") or None))
        cos = max((p.similarity or 0.0 for p in found), default=0.0)
        wanted = terms(item["question"])
        cover = max((overlap(wanted, p.window) for p in found[:3]), default=0.0)
        rows.append((cos, cover, float(not item["gold_paths"])))
    return rows


def main() -> None:
    setup_logging()
    corpora = require_data("corpora")
    from indexer.sample import sample_source

    with tempfile.TemporaryDirectory() as tmp:
        sets = {
            "handbook": np.array(_features([sample_source("handbook")], "handbook_dev.jsonl",
                                           Path(tmp) / "hb")),
            "corpora": np.array(_features(
                [{"name": "18f", "type": "directory",
                  "path": str(corpora / "18f-tts-handbook" / "pages")},
                 {"name": "sourcegraph", "type": "directory",
                  "path": str(corpora / "sourcegraph-handbook")}],
                "corpora_dev.jsonl", Path(tmp) / "corpora")),
        }
    best: dict[str, Any] = {}
    for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0):
        scores = {k: v[:, 0] + w * v[:, 1] for k, v in sets.items()}
        for t in np.unique(np.concatenate(list(scores.values()))):
            per = {}
            for name, f in scores.items():
                y = sets[name][:, 2] == 1
                abstain = f < t
                per[name] = (float((abstain & y).sum() / y.sum()),
                             float((abstain & ~y).sum() / (~y).sum()))
            if all(fa <= MAX_FALSE_ABSTAIN for _, fa in per.values()):
                gain = float(np.mean([r - fa for r, fa in per.values()]))
                if gain > best.get("gain", -1):
                    best = {"gain": round(gain, 4), "coverage_weight": w,
                            "min_confidence": round(float(t), 3),
                            "dev": {k: {"abstain_recall": round(r, 3),
                                        "false_abstain": round(fa, 3)}
                                    for k, (r, fa) in per.items()}}
    path = write_results("tune_abstention", best)
    print(json.dumps(best, indent=2))
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
