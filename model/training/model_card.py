"""What a trained adapter says about itself: README.md and training_metrics.json.

An adapter folder travels (to the vLLM host, to a colleague); the card answers "what is
this, what was it trained on and how well did it fit" without the run's logs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VLLM_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # values vLLM's --max-lora-rank accepts


def training_metrics(state: Any, device: str, dtype: str, hyper: dict[str, Any], data: Path,
                     n_train: int, n_val: int, skipped: int) -> dict[str, Any]:
    """``training_metrics.json``: throughput, losses, hyperparameters and data counts."""
    report = data / "report.json"
    summary = None
    if report.exists():  # the dataset's counts, not its per-question drops: questions stay
        summary = {k: v for k, v in json.loads(report.read_text(encoding="utf-8")).items()
                   if k != "drops"}
    last = state.history[-1] if state.history else {}
    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": device, "dtype": dtype, "steps": state.step, "train_tokens": state.tokens,
        "seconds": round(state.seconds, 3),
        "tokens_per_s": state.tokens / state.seconds if state.seconds else 0.0,
        "epochs": state.history,
        "final_train_loss": last.get("train_loss"), "final_val_loss": last.get("val_loss"),
        "hyperparameters": hyper,
        "data": {"dir": str(data), "train_examples": n_train, "validation_examples": n_val,
                 "skipped_too_long": skipped, "dataset_report": summary},
    }


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _served_rank(rank: int) -> int:
    return next((r for r in VLLM_RANKS if r >= rank), rank)


def write_card(out_dir: Path, metrics: dict[str, Any]) -> None:
    """``README.md`` (with hub-style front matter) and ``training_metrics.json``."""
    (out_dir / "training_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n",
                                                   encoding="utf-8")
    h, data = metrics["hyperparameters"], metrics["data"]
    epochs = "\n".join(f"| {e['epoch']} | {_loss(e['train_loss'])} | {_loss(e['val_loss'])} |"
                       for e in metrics["epochs"])
    source = data.get("dataset_report") or {}
    inputs = source.get("inputs", {})
    origin = (f"{inputs.get('curated', 0)} curated answers and "
              f"{inputs.get('feedback_answers', 0)} 👍 answers, of which "
              f"{source.get('examples', 0)} were kept after re-checking their citations "
              f"against the index ({source.get('dropped_total', 0)} dropped)"
              if source else "not recorded")
    rows = "\n".join(f"| {k} | {v} |" for k, v in h.items())
    text = f"""---
base_model: {h['base']}
library_name: peft
tags: [lora, policybot]
---

# PolicyBot LoRA adapter

Teaches `{h['base']}` PolicyBot's answer style: answer only from the numbered passages,
cite each fact as `[n]`, say when the policies do not cover a question. Facts come from
retrieval at question time, never from these weights.

- Trained: {metrics['finished_at']} on {metrics['device']} ({metrics['dtype']})
- Data: {data['train_examples']} training and {data['validation_examples']} validation
  examples ({data['skipped_too_long']} skipped as longer than {h['max_seq_len']} tokens);
  source: {origin}
- Throughput: {metrics['tokens_per_s']:.0f} tokens/s over {metrics['steps']} optimizer steps

## Loss per epoch (answer tokens only)

| epoch | train | validation |
|---|---|---|
{epochs}

## Hyperparameters

| name | value |
|---|---|
{rows}

## Serving

`vllm serve {h['base']} --enable-lora --max-lora-rank {_served_rank(h['rank'])} \\
  --lora-modules NAME={out_dir.resolve()}`, or load it into a running server with
`policybot adapters push NAME {out_dir}`.
"""
    (out_dir / "README.md").write_text(text, encoding="utf-8")
