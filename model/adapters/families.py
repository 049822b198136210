"""Which modules vLLM can put a LoRA on, per architecture family.

vLLM fuses q/k/v and gate/up projections internally but accepts adapters that target the
separate Hugging Face module names below; anything else (an embedding, a norm, a router)
makes the load fail. Only families PolicyBot is likely to serve are listed; for others the
validator warns instead of guessing.
"""

from __future__ import annotations

import json
from pathlib import Path

_DECODER = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SUPPORTED: dict[str, tuple[str, ...]] = {
    **{name: _DECODER for name in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2",
                                   "gemma3_text", "granite", "olmo2")},
    "phi3": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
}
# Substrings of model names, for a base given only by name (first match wins).
_NAME_HINTS = (("qwen3", "qwen3"), ("qwen2", "qwen2"), ("qwen", "qwen2"), ("mistral", "mistral"),
               ("phi-3", "phi3"), ("phi-4", "phi3"), ("gemma-2", "gemma2"), ("gemma", "gemma"),
               ("granite", "granite"), ("llama", "llama"), ("olmo", "olmo2"))


def supported_modules(family: str | None) -> tuple[str, ...] | None:
    """LoRA-capable module names for ``family``; None when it is not in the table."""
    return SUPPORTED.get(family) if family else None


def _from_config(ref: str) -> str | None:
    config = Path(ref) / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("model_type") if isinstance(data, dict) else None
    return str(kind) if kind else None


def family_of(*refs: str | None) -> tuple[str | None, str]:
    """(family, how it was found): a local folder's config.json beats a name's hint."""
    for ref in refs:
        if ref and (kind := _from_config(ref)):
            return kind, f"config.json of {ref}"
    for ref in refs:
        lowered = (ref or "").casefold()
        for hint, family in _NAME_HINTS:
            if hint in lowered:
                return family, f"guessed from the name {ref!r}"
    return None, "no config.json and no known name"
