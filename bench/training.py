"""Adapter training: dataset build time over the sample handbook, and LoRA training speed.

Why: ``policybot adapters dataset`` re-retrieves every 👍 question against today's index
before it becomes an example, so its cost grows with the feedback collected; training
throughput (tokens/s) says how long a retrain takes on the hardware at hand.

1. Dataset: 1,000 synthetic feedback records stored through BotHistory (the 196
   hand-written handbook questions of bench/eval, each under up to five phrasings; each
   answer cites a sentence of a passage retrieved for it, 10% of them with a quote that no
   longer exists, 5% of the questions also 👎'd, 2% abstentions), read back with
   ``feedback_records`` and built into examples with real retrieval and the vLLM prompt
   budget. Index and records are built once; read + build is timed ``--runs`` times.
2. Training: the tiny handbook-vocabulary Llama of the test-suite (2 layers, hidden 32),
   LoRA r=16 on q/k/v/o, one epoch over 128 of the built examples, batch 4, ``--runs``
   times; tokens/s is input tokens over time spent in training steps (model loading,
   validation and checkpoints excluded). ``--device cuda`` runs it on a GPU
   (bf16); ``--base DIR`` trains a real model instead of the tiny one.

Run: ``.venv/bin/python bench/training.py [--runs 3] [--device cpu|cuda] [--base DIR]``
(about 3.5 min on 2 CPU cores: the 1,000 retrievals of each build dominate).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import BENCH, load_now, make_index, setup_logging, write_results

ROOT = BENCH.parent
RECORDS = 1000
TRAIN_EXAMPLES = 128  # enough for a stable tokens/s; the loss is not the point here
PHRASINGS = ("", "quick question: ", "hi, ", "does anyone know ", "sorry to bother you, ")


def _questions() -> list[str]:
    out = []
    for name in ("handbook_dev.jsonl", "handbook_test.jsonl"):
        for line in (BENCH / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    return out


def _store_feedback(history: Any, retrieve: Any, rng: random.Random) -> dict[str, int]:
    """RECORDS 👍 answers (and some 👎), each citing a sentence of a passage retrieved for
    the question as it was asked, stored as the bot stores them."""
    from model.answer import Answer, Citation
    from model.prompts import NO_ANSWER

    questions = _questions()
    counts = {"up": 0, "down": 0, "stale": 0, "abstained": 0}
    for i in range(RECORDS):
        phrasing = PHRASINGS[(i // len(questions)) % len(PHRASINGS)]
        question = phrasing + questions[i % len(questions)]
        passages = retrieve(question)
        if rng.random() < 0.02 or not passages:
            answer = Answer(question=question, text=NO_ANSWER, abstained=True)
            counts["abstained"] += 1
        else:
            p = rng.choice(passages)
            quote = next((s for s in p.text.split(". ") if len(s) > 20), p.text[:80])
            if rng.random() < 0.10:
                quote, counts["stale"] = quote + " (as it read last year)", counts["stale"] + 1
            cite = Citation(1, p.title, p.url, p.source, p.path, p.section, quote,
                            p.doc_version, p.doc_id)
            answer = Answer(question=question, text=f"{quote} [1].", citations=[cite],
                            grounded=True, generator="openai")
        answer_id = history.record_answer(answer, user_id="U1", channel_id="C1",
                                          thread_ts=None, visibility="public")
        history.record_feedback(answer_id, "U1", "up")
        counts["up"] += 1
        if rng.random() < 0.05:
            history.record_feedback(answer_id, "U2", "down")
            counts["down"] += 1
    return counts


def _dataset(home: Path, out: Path, runs: int) -> dict[str, Any]:
    """Index and feedback built once; the read and the build (all retrieval included) are
    what is timed, ``runs`` times."""
    from bot.answering import numbered
    from bot.history import BotHistory
    from indexer.sample import sample_source
    from model.generators.openai_http import fit_messages
    from model.training.dataset import build_dataset

    index = make_index(home, [sample_source("handbook")])
    assert index.sync().ok
    retriever = index.retriever()

    def retrieve(question: str) -> list[Any]:
        return numbered(retriever.search(question, k=5))

    history = BotHistory(index.settings.db_url)
    stored = _store_feedback(history, retrieve, random.Random(0))
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        up, down = history.feedback_records("up"), history.feedback_records("down")
        read = time.perf_counter() - started
        built = build_dataset([], up, down, retrieve, val_fraction=0.1, seed=0,
                              messages_for=lambda q, ps: fit_messages(q, ps, (), 4096, 400))
        timings.append({"read_s": round(read, 3),
                        "build_s": round(time.perf_counter() - started - read, 3),
                        "load": load_now()})
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", built.train[:TRAIN_EXAMPLES]),
                       ("validation", built.validation)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = {k: v for k, v in built.report.items() if k != "drops"}
    return {"stored": stored, "runs": timings, "report": report}


def _train(base: str, data: Path, out: Path, device: str) -> dict[str, Any]:
    from model.training.trainer import TrainConfig, train

    cfg = TrainConfig(base=base, data=data, out=out, rank=16, alpha=32,
                      target_modules=("q_proj", "k_proj", "v_proj", "o_proj"), epochs=1,
                      lr=2e-4, batch_size=4, max_seq_len=4096, device=device)
    metrics = train(cfg, progress=False)
    return {"tokens_per_s": round(metrics["tokens_per_s"], 1), "tokens": metrics["train_tokens"],
            "steps": metrics["steps"], "seconds": metrics["seconds"],
            "train_loss": metrics["final_train_loss"], "device": metrics["device"],
            "dtype": metrics["dtype"], "load": load_now()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--base", help="model folder to train instead of the tiny model")
    args = parser.parse_args()
    setup_logging()
    if str(ROOT) not in sys.path:  # the tiny model builder lives with the tests
        sys.path.insert(0, str(ROOT))
    from tests.adapter_fixtures import build_handbook_model

    trainings = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = args.base or str(build_handbook_model(root / "tiny"))
        dataset = _dataset(root / "home", root / "data", args.runs)
        for run in range(args.runs):
            trainings.append(_train(base, root / "data", root / f"adapter{run}", args.device))

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 3)

    build_s = med(dataset["runs"], "build_s")
    summary = {
        "dataset": {"records": RECORDS, "median_build_s": build_s,
                    "median_read_s": med(dataset["runs"], "read_s"),
                    "records_per_s": round(RECORDS / build_s, 1),
                    "examples": dataset["report"]["examples"],
                    "dropped": dataset["report"]["dropped"]},
        "training": {"base": args.base or "tiny handbook Llama (2 layers, hidden 32)",
                     "device": trainings[0]["device"], "dtype": trainings[0]["dtype"],
                     "examples": min(TRAIN_EXAMPLES, dataset["report"]["train"]),
                     "tokens_per_epoch": trainings[0]["tokens"],
                     "median_tokens_per_s": med(trainings, "tokens_per_s"),
                     "runs": [r["tokens_per_s"] for r in trainings]},
    }
    path = write_results("training", {"summary": summary, "dataset": dataset,
                                      "training_runs": trainings})
    print(json.dumps(summary, indent=2))
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
