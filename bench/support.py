"""Unsupported-claim check: which score separates backed claims from invented ones?

For every answerable question of the handbook sets, the reference answer (a paraphrase
with the key fact) is a *supported* claim against the passages retrieved from its gold
document; the reference answer of another question about a different document is an
*unsupported* claim against the same passages. Each scorer (embedding similarity,
content-word overlap, their mean) is summarised by ROC AUC and by the accuracy of the
threshold chosen on dev, applied unchanged to test.

    .venv/bin/python bench/support.py
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import setup_logging, write_results

EVAL = Path(__file__).resolve().parent / "eval"
WEIGHTS = {"semantic": 0.0, "lexical": 1.0, "both (0.5)": 0.5}


def _pairs(items: list[dict[str, Any]], answerer: Any) -> list[tuple[str, list[Any], bool]]:
    from model.answerer import Asker

    rng = random.Random(0)
    usable = [i for i in items if i["gold_paths"] and i["answer"]]
    pairs = []
    for item in usable:
        asker = Asker(audiences=tuple(item.get("audience") or ()))
        passages = [p for p in answerer.retrieve(item["question"], asker)
                    if p.path in item["gold_paths"]]
        if not passages:
            continue
        other = rng.choice([o for o in usable if not set(o["gold_paths"]) & set(
            item["gold_paths"])])
        pairs += [(item["answer"], passages, True), (other["answer"], passages, False)]
    return pairs


def _scores(pairs: list[Any], checker: Any, weight: float) -> np.ndarray:
    from model.answer import AnswerSentence

    checker.lexical_weight = weight
    out = []
    for claim, passages, _ in pairs:
        sentence = AnswerSentence(claim, [1])
        checker.check([sentence], {1: passages})
        out.append(sentence.support)
    return np.array(out)


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :])
                  .mean())


def _best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(max(np.unique(scores), key=lambda t: ((scores >= t) == labels).mean()))


def main() -> None:
    setup_logging()
    from bot.answering import build_answerer
    from bot.settings import load_app_settings
    from indexer.index import PolicyIndex
    from indexer.sample import sample_source

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_app_settings(home=Path(tmp), sources=[sample_source("handbook")])
        index = PolicyIndex(settings)
        index.sync()
        answerer = build_answerer(settings, index)
        splits = {s: _pairs([json.loads(x) for x in (EVAL / f"handbook_{s}.jsonl")
                             .read_text().splitlines() if x.strip()], answerer)
                  for s in ("dev", "test")}
        rows = {}
        for name, weight in WEIGHTS.items():
            dev = _scores(splits["dev"], answerer.support, weight)
            test = _scores(splits["test"], answerer.support, weight)
            dev_y = np.array([y for *_, y in splits["dev"]])
            test_y = np.array([y for *_, y in splits["test"]])
            t = _best_threshold(dev, dev_y)
            rows[name] = {"auc_dev": round(_auc(dev, dev_y), 3),
                          "auc_test": round(_auc(test, test_y), 3), "threshold": round(t, 3),
                          "accuracy_test": round(float(((test >= t) == test_y).mean()), 3)}
    path = write_results("support", {"pairs": {k: len(v) for k, v in splits.items()},
                                     "scorers": rows})
    print("| scorer | AUC dev | AUC test | threshold (dev) | accuracy test |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['auc_dev']} | {r['auc_test']} | {r['threshold']} | "
              f"{r['accuracy_test']} |")
    print(f"\npairs: {({k: len(v) for k, v in splits.items()})}; raw results: {path}")


if __name__ == "__main__":
    main()
