"""Fits the answerability decisions (``model/answerability.json``) on slack-dev's dev split.

The one script to re-run whenever retrieval, chunking or the extractive generator
changes: it rewrites every fitted number in ``model/answerability.json``.

- Tuning data: slack-dev questions with an even id, of the 18F and sample handbooks only
  (the sourcegraph handbook is held out, and odd ids are the test split: never fitted on).
- Gate: for each coverage weight, the highest threshold that turns away at most 2 % of
  the answerable tuning questions; the weight kept is the one that then stops the most
  not-covered questions.
- Extractive decision: logistic regression (numpy, L2, standardised features) predicting
  "the extractive draft cites a gold document" from ``model.answerability.FEATURES``,
  over the tuning questions that pass the gate. The threshold kept maximises recall minus
  the share of not-covered dev questions answered, among those whose dev precision is at
  least MIN_PRECISION: a draft shown as evidence still shows the right passage, while a
  confident answer from the wrong one misleads, so a miss costs less than a false answer.
  The precision/recall curve is printed as Markdown for docs/benchmarks.md and saved
  with the raw results in bench/results/.

    PYTHONPATH=. .venv/bin/python bench/fit_answerability.py
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import slack_dev
from common import setup_logging, table, write_results

MAX_GATE_REJECT = 0.02
MIN_PRECISION = 0.8
WEIGHTS = (0.0, 0.35, 0.7, 1.0)


def rows_for(settings: Any, index: Any, items: list[dict[str, Any]],
             wanted: set[str]) -> list[dict[str, Any]]:
    """Per wanted question: gate scores, features and whether the draft cites a gold doc."""
    from bot.answering import build_answerer
    from model.answerability import features, gate_score
    from model.answerer import Asker
    from model.followup import retrieval_query
    from model.passages import Turn
    from model.validation import QuestionError, clean_question

    answerer = build_answerer(settings, index)
    by_id = {i["id"]: i for i in items}
    out = []
    for item in items:
        if item["id"] not in wanted:
            continue
        try:
            question = clean_question(item["question"]).text
        except QuestionError:
            continue
        earlier = by_id.get(item.get("follows", ""))
        history = [Turn(earlier["question"], "")] if earlier else []
        query = retrieval_query(question, history)
        passages = answerer.passages_for(question, query, Asker(sources=(item["corpus"],)))
        top = passages[: answerer.policy.extract_from]
        draft = answerer.extractive.draft(query, top)
        best = draft.ranked[0] if draft.ranked else None
        path = next((p.path for p in top if best and p.n == best.n), "")
        out.append({"id": item["id"], "corpus": item["corpus"], "kind": item["kind"],
                    "answerable": bool(item["gold_paths"]),
                    "gate": {w: gate_score(query, passages, w) for w in WEIGHTS},
                    "x": features(query, draft, top),
                    "y": float(bool(item["gold_paths"]) and path in item["gold_paths"])})
    return out


def fit_gate(rows: list[dict[str, Any]]) -> tuple[float, float]:
    best: tuple[float, float, float] = (-1.0, 0.7, 0.0)
    for w in WEIGHTS:
        ans = np.sort([r["gate"][w] for r in rows if r["answerable"]])
        allowed = int(MAX_GATE_REJECT * len(ans))
        threshold = float(ans[allowed]) - 1e-3  # rejects `allowed` questions at most
        stopped = np.mean([r["gate"][w] < threshold for r in rows if not r["answerable"]])
        if stopped > best[0]:
            best = (float(stopped), w, threshold)
    return best[1], round(best[2], 4)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 5000,
                 lr: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= lr * (z.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float(np.mean(p - y))
    return mean, scale, w, b


def curve(prob: np.ndarray, rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    y = np.array([r["y"] for r in rows]) == 1
    nc = np.array([not r["answerable"] for r in rows])
    out = []
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2):
        answered = prob >= t
        out.append({"threshold": float(t),
                    "precision": float((answered & y).sum() / max(1, answered.sum())),
                    "recall": float((answered & y).sum() / max(1, y.sum())),
                    "nc_answered": float((answered & nc).sum() / max(1, nc.sum()))})
    return out


def main() -> None:
    setup_logging()
    from model.answerability import FEATURES, PARAMS

    settings, index = slack_dev.index()
    items = slack_dev.questions()
    tuning = slack_dev.tuning_set(items)
    wanted = {i["id"] for i in tuning}
    rows = rows_for(settings, index, items, wanted)
    weight, gate = fit_gate(rows)
    passing = [r for r in rows if r["gate"][weight] >= gate]
    x = np.array([r["x"] for r in passing])
    y = np.array([r["y"] for r in passing])
    mean, scale, w, b = fit_logistic(x, y)
    prob = 1 / (1 + np.exp(-(((x - mean) / scale) @ w + b)))
    points = curve(prob, passing)
    ok = [p for p in points if p["precision"] >= MIN_PRECISION] or points
    chosen = max(ok, key=lambda p: (p["recall"] - p["nc_answered"], -p["threshold"]))
    params = {"features": list(FEATURES), "gate": gate, "coverage_weight": weight,
              "mean": [round(float(v), 5) for v in mean],
              "scale": [round(float(v), 5) for v in scale],
              "weights": [round(float(v), 5) for v in w], "bias": round(b, 5),
              "answer_threshold": chosen["threshold"],
              "fitted_on": f"slack-dev even ids, 18f + sample ({len(rows)} questions)"}
    PARAMS.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    gate_rejects = np.mean([r["gate"][weight] < gate for r in rows if r["answerable"]])
    nc_stopped = np.mean([r["gate"][weight] < gate for r in rows if not r["answerable"]])
    path = write_results("fit_answerability", {"params": params, "curve": points,
                                               "gate_rejects_answerable": gate_rejects,
                                               "gate_stops_not_covered": nc_stopped})
    print(f"{len(rows)} tuning questions ({sum(r['answerable'] for r in rows)} answerable); "
          f"gate: weight {weight}, threshold {gate}: rejects {gate_rejects:.3f} of "
          f"answerable, stops {nc_stopped:.3f} of not-covered")
    print("weights:", dict(zip(FEATURES, params["weights"], strict=True)))
    print(f"answer_threshold {chosen['threshold']}\n")
    print(table(["threshold", "precision", "recall", "not-covered answered"],
                [[p["threshold"], p["precision"], p["recall"], p["nc_answered"]]
                 for p in points]))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
