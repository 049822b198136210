"""The optimisation loop: micro-batches, gradient accumulation, validation loss.

Kept apart from :mod:`model.training.trainer` (which loads models and writes results) so
the part that decides what a step is stays small enough to read at once. The data order
of an epoch comes from its own seeded generator, and the only other randomness (dropout)
comes from torch's global generator, which checkpoints save: a run resumed from any
checkpoint repeats the remaining steps of an uninterrupted run exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.training.checkpoints import Progress
from model.training.encoding import IGNORE, Encoded, collate


@dataclass
class Loop:
    """One model's optimisation state and the rules of a step; see the module doc."""

    model: Any
    optimizer: Any
    scheduler: Any
    pad_id: int
    device: str
    batch_size: int
    grad_accum: int
    seed: int
    save_every: int  # optimizer steps between mid-epoch checkpoints (0: none)
    checkpoint: Callable[[], None]

    def loss(self, batch: dict[str, Any]) -> tuple[Any, int]:
        """Mean loss over the batch's answer tokens, and how many there were."""
        batch = {k: v.to(self.device) for k, v in batch.items()}
        out = self.model(**batch)
        return out.loss, int((batch["labels"][:, 1:] != IGNORE).sum())

    def evaluate(self, examples: list[Encoded]) -> float | None:
        """Answer-token-weighted mean loss over ``examples`` (None when there are none)."""
        import torch

        if not examples:
            return None
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(examples), self.batch_size):
                loss, n = self.loss(collate(examples[i:i + self.batch_size], self.pad_id))
                total, count = total + loss.item() * n, count + n
        self.model.train()
        return total / count if count else None

    def run_epoch(self, train_set: list[Encoded], state: Progress, bar: Any,
                  total: int) -> None:
        """Micro-batches from ``state.micro`` to the epoch's end, or to ``total`` steps."""
        import torch

        order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(
            self.seed * 7919 + state.epoch))
        batches = [order[i:i + self.batch_size].tolist()
                   for i in range(0, len(train_set), self.batch_size)]
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        started = time.perf_counter()
        for index in range(state.micro, len(batches)):
            group = min(self.grad_accum, len(batches) - (index - index % self.grad_accum))
            batch = collate([train_set[i] for i in batches[index]], self.pad_id)
            loss, n = self.loss(batch)
            (loss / group).backward()
            state.loss_sum += loss.detach().item() * n
            state.loss_tokens += n
            state.tokens += int(batch["attention_mask"].sum())
            state.micro = index + 1
            if state.micro % self.grad_accum and state.micro != len(batches):
                continue
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            state.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.detach().item():.4f}")
            done = state.step >= total
            if done or (self.save_every and state.step % self.save_every == 0
                        and state.micro < len(batches)):
                state.seconds += time.perf_counter() - started
                self.checkpoint()
                started = time.perf_counter()
            if done:
                break
        state.seconds += time.perf_counter() - started
