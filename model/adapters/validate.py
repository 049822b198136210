"""Checks a LoRA adapter folder for what vLLM would refuse, before vLLM refuses it.

vLLM rejects an adapter at load time (``--lora-modules`` at startup, or the runtime load
endpoint) for: a rank above ``--max-lora-rank``, DoRA, ``modules_to_save``, a bias, target
modules its implementation of the architecture has no LoRA layer for, and missing weights.
A refusal at startup takes the whole server down, so these are checked here first. Only
the JSON config and the safetensors header are read: no torch, no model download.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.adapters.families import family_of, supported_modules

DEFAULT_MAX_LORA_RANK = 16  # vLLM's own --max-lora-rank default


@dataclass(frozen=True)
class Finding:
    """One check's outcome, printed as ✓ (ok), ! (warning) or ✗ (error)."""

    level: str  # ok | warning | error
    check: str
    message: str


def _ok(check: str, message: str) -> Finding:
    return Finding("ok", check, message)


def _warn(check: str, message: str) -> Finding:
    return Finding("warning", check, message)


def _error(check: str, message: str) -> Finding:
    return Finding("error", check, message)


def has_errors(findings: list[Finding]) -> bool:
    """Whether vLLM would refuse the adapter."""
    return any(f.level == "error" for f in findings)


def _names_match(a: str, b: str) -> bool:
    """Same model by full name or by last path component ("Qwen/X" vs "/models/X/")."""
    def base(x: str) -> str:
        return x.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1].casefold()
    return a.rstrip("/").casefold() == b.rstrip("/").casefold() or base(a) == base(b)


def safetensors_header(path: Path) -> dict[str, Any]:
    """The tensor table of a safetensors file (8-byte length, then JSON)."""
    with path.open("rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        if size > 100_000_000:
            raise ValueError("header length is implausible")
        return json.loads(f.read(size))


def _weights(folder: Path, max_rank: int) -> list[Finding]:
    weights = folder / "adapter_model.safetensors"
    if not weights.exists():
        if (folder / "adapter_model.bin").exists():
            return [_error("weights", "only adapter_model.bin (pickle) found: save with "
                           "save_pretrained(..., safe_serialization=True)")]
        return [_error("weights", f"no adapter_model.safetensors in {folder}")]
    try:
        header = safetensors_header(weights)
    except (OSError, ValueError, struct.error) as exc:
        return [_error("weights", f"adapter_model.safetensors is unreadable: {exc}")]
    ranks = [v["shape"][0] for k, v in header.items() if "lora_A" in k and v.get("shape")]
    if not ranks:
        return [_error("weights", "adapter_model.safetensors holds no lora_A tensors")]
    if max(ranks) > max_rank:
        return [_error("weights", f"tensors have rank up to {max(ranks)} > max rank {max_rank}")]
    return [_ok("weights", f"adapter_model.safetensors: {len(header) - ('__metadata__' in header)}"
                f" tensors, rank {max(ranks)}")]


def _rank(config: dict[str, Any], max_rank: int) -> Finding:
    ranks = {"r": config.get("r")} | {f"rank_pattern[{k}]": v
                                       for k, v in (config.get("rank_pattern") or {}).items()}
    bad = {k: v for k, v in ranks.items() if not isinstance(v, int) or v > max_rank or v < 1}
    if bad:
        listed = ", ".join(f"{k}={v}" for k, v in bad.items())
        return _error("rank", f"{listed} exceeds --max-lora-rank {max_rank} (or is not a "
                      "positive integer); retrain with a lower rank or raise the server's limit")
    return _ok("rank", f"r={config['r']} <= max rank {max_rank}")


def _options(config: dict[str, Any]) -> list[Finding]:
    out = []
    if config.get("peft_type", "LORA") != "LORA":
        out.append(_error("type", f"peft_type {config.get('peft_type')!r}: vLLM serves LoRA only"))
    if config.get("use_dora"):
        out.append(_error("dora", "use_dora: true: vLLM does not serve DoRA adapters"))
    if config.get("modules_to_save"):
        out.append(_error("modules_to_save", f"modules_to_save={config['modules_to_save']}: "
                          "vLLM only supports modules_to_save being None"))
    if config.get("bias", "none") != "none":
        out.append(_error("bias", f"bias={config['bias']!r}: vLLM only serves bias='none'"))
    if config.get("layers_to_transform") is not None:
        out.append(_warn("layers", "layers_to_transform is set: vLLM applies whatever tensors "
                         "exist, check the output matches peft's"))
    if config.get("use_rslora"):
        out.append(_ok("rslora", "use_rslora: served with alpha/sqrt(r) scaling"))
    return out


def _modules(config: dict[str, Any], family: str | None, how: str) -> Finding:
    targets = config.get("target_modules")
    if isinstance(targets, str):
        return _warn("modules", f"target_modules is a pattern ({targets!r}); not checked")
    names = sorted({str(t).rsplit(".", 1)[-1] for t in targets or []})
    if not names:
        return _error("modules", "adapter_config.json lists no target_modules")
    embedding = [n for n in names if n in ("embed_tokens", "lm_head", "wte", "embed_in")]
    allowed = supported_modules(family)
    if allowed is None:
        message = f"architecture unknown ({how}); cannot check target modules {names}"
        if embedding:
            message += f"; embedding targets {embedding} are rarely servable"
        return _warn("modules", message)
    bad = [n for n in names if n not in allowed]
    if bad:
        return _error("modules", f"{bad} are not LoRA-capable in vLLM's {family} models "
                      f"(supported: {', '.join(allowed)})")
    return _ok("modules", f"{', '.join(names)} supported for {family} ({how})")


def _base(config: dict[str, Any], base: str | None) -> Finding:
    trained_on = config.get("base_model_name_or_path") or ""
    if not base:
        return _warn("base", f"served base model unknown (give --base or set generator.model); "
                     f"adapter trained on {trained_on or '(not recorded)'}")
    if not trained_on:
        return _warn("base", "adapter_config.json does not record base_model_name_or_path")
    if not _names_match(trained_on, base):
        return _error("base", f"adapter was trained on {trained_on!r}, the server serves "
                      f"{base!r}: a LoRA only fits the exact base it was trained on")
    return _ok("base", f"trained on {trained_on}, matches {base}")


def validate_adapter(folder: str | Path, max_rank: int = DEFAULT_MAX_LORA_RANK,
                     base: str | None = None) -> list[Finding]:
    """Every finding for ``folder``; any ``error`` means vLLM would refuse it."""
    folder = Path(folder)
    config_path = folder / "adapter_config.json"
    if not folder.is_dir():
        return [_error("folder", f"{folder} is not a folder")]
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return [_error("config", f"{config_path}: {exc}")]
    found = [_ok("config", "adapter_config.json parses")]
    found += _options(config)
    found.append(_rank(config, max_rank))
    family, how = family_of(base, config.get("base_model_name_or_path"))
    found.append(_modules(config, family, how))
    found.append(_base(config, base))
    found += _weights(folder, max_rank)
    return found
