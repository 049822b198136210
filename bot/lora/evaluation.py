"""Evaluates an adapter against its base model with ``policybot eval``'s own scoring.

Each variant is the configured settings with another ``[generator]`` section, run through
:func:`bot.evaluation.run_evaluation`, so adapters are judged exactly as the bot answers.
One more number is gated on: how often the LLM's answer was unusable (no valid citation,
or an error) and the extractive fallback answered instead (``fallback_rate``, counted from
each answer's ``fell_back``). The answer metrics alone hide that, because the fallback's
answers are good ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.evaluation import run_evaluation
from bot.lora.registry import AdapterRegistry
from bot.settings import AppSettings, GeneratorSettings
from model.adapters.gate import Verdict, compare

# The handbook dev questions over the bundled sample handbook, shipped as package data
# (bench/eval/handbook_dev.jsonl links to this one copy).
DEFAULT_QA = Path(__file__).resolve().parents[1] / "data" / "handbook_dev.jsonl"
METRICS_FILE = "metrics.json"  # written next to an evaluated adapter


def evaluate_variant(settings: AppSettings, index: Any, items: list[dict[str, Any]],
                     generator: GeneratorSettings) -> dict[str, Any]:
    """``policybot eval`` metrics with ``generator`` answering, plus ``fallback_rate``
    (from each answer's own ``fell_back``, as the evaluation reports it)."""
    variant = settings.model_copy(update={"generator": generator})
    report = run_evaluation(variant, index, items, baseline=False)
    metrics = dict(report["systems"]["policybot"])
    metrics["fallback_rate"] = report["fallback_rate"]
    return metrics


def local_variant(settings: AppSettings, base: str, adapter: Path | None,
                  device: str | None) -> GeneratorSettings:
    """In-process transformers (+ peft) generator: no server needed to evaluate."""
    return settings.generator.model_copy(update={
        "backend": "local", "model_path": Path(base), "adapter_path": adapter,
        "device": device or settings.generator.device})


def endpoint_variant(settings: AppSettings, endpoint: str, model: str) -> GeneratorSettings:
    """Greedy decoding, so the comparison measures the adapter rather than sampling luck."""
    options = {**settings.generator.options, "temperature": 0}
    return settings.generator.model_copy(update={
        "backend": "openai", "base_url": endpoint, "model": model, "options": options})


def in_service(registry: AdapterRegistry, name: str | None) -> tuple[str, dict[str, Any] | None]:
    """(label, metrics) of the adapter now serving ``name``: the pushed version's stored
    metrics, else ``metrics.json`` beside the configured folder; (label, None) if unknown."""
    if not name:
        return "the base model", None
    version = registry.active(name)
    if version is not None and version.metrics:
        return version.served_name, version.metrics
    folder = registry.settings.adapters.paths.get(name)
    stored = read_metrics(folder) if folder else None
    if stored and isinstance(stored.get("metrics"), dict):
        return name, stored["metrics"]
    return name, None


def read_metrics(folder: Path) -> dict[str, Any] | None:
    """The ``metrics.json`` an evaluation left beside an adapter, if any."""
    path = Path(folder) / METRICS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_gate(settings: AppSettings, index: Any, items: list[dict[str, Any]],
             candidate: GeneratorSettings, base: GeneratorSettings,
             registry: AdapterRegistry, against: str | None, tolerance: float
             ) -> tuple[Verdict, dict[str, Any]]:
    """Score candidate and base, compare the candidate with the adapter in service (or,
    when none has stored metrics, with the base model); returns the verdict and the record
    to store as ``metrics.json``."""
    scores = {"candidate": evaluate_variant(settings, index, items, candidate),
              "base": evaluate_variant(settings, index, items, base)}
    label, incumbent = in_service(registry, against)
    if incumbent is None:
        if label != "the base model":
            label = f"the base model ({label} has no stored metrics)"
        incumbent = scores["base"]
    verdict = compare(scores["candidate"], incumbent, label, tolerance)
    record = {"evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "questions": len(items), "against": label, "tolerance": tolerance,
              "metrics": scores["candidate"], "base_metrics": scores["base"],
              "incumbent_metrics": incumbent, "promotable": verdict.promotable}
    return verdict, record
