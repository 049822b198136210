"""Chat examples as token ids, with the loss on the assistant's answer only.

The prompt is rendered with the tokenizer's own chat template and ``add_generation_prompt``,
exactly as the generators render it at inference; the answer is the rest of the full
conversation's rendering (so its end-of-turn token is learnt too). Every prompt position
is labelled -100: the adapter is taught to answer, not to recite the system prompt or the
passages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE = -100  # the label transformers' loss skips


class TrainingError(Exception):
    """Training cannot start or go on; the message says what to change."""


@dataclass
class Encoded:
    """One example as token ids and labels (``IGNORE`` wherever no loss is taken)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def targets(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def read_examples(path: Path) -> list[list[dict[str, str]]]:
    """The ``messages`` of each line of a chat JSONL file (missing file: no examples)."""
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
            ok = isinstance(messages, list) and messages[-1]["role"] == "assistant"
        except (ValueError, KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            raise TrainingError(f"{path}:{number}: expected {{\"messages\": [..., "
                                f"{{\"role\": \"assistant\", ...}}]}}")
        out.append(messages)
    return out


def encode_chat(tokenizer: Any, messages: Sequence[dict[str, str]]) -> Encoded:
    """Token ids of the whole conversation; labels only on the final assistant turn."""
    prompt = tokenizer.apply_chat_template(list(messages[:-1]), tokenize=False,
                                           add_generation_prompt=True)
    full = tokenizer.apply_chat_template(list(messages), tokenize=False)
    if not full.startswith(prompt):
        raise TrainingError("the tokenizer's chat template does not render the prompt as a "
                            "prefix of the conversation, so the answer cannot be isolated")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    if not answer_ids:
        raise TrainingError("an example's answer renders to no tokens")
    return Encoded(prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids)


def encode_all(tokenizer: Any, examples: list[list[dict[str, str]]], max_len: int
               ) -> tuple[list[Encoded], int]:
    """Encoded examples that fit ``max_len`` tokens, and how many did not.

    Too-long examples are skipped rather than cut: a truncated prompt would teach the
    model to cite passages it was never shown."""
    kept = [e for e in (encode_chat(tokenizer, m) for m in examples) if len(e.input_ids)
            <= max_len]
    return kept, len(examples) - len(kept)


def collate(batch: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors; padding is masked out of both attention and loss."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
