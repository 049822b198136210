"""Resumable training checkpoints under ``ADAPTER_DIR/checkpoints/step-NNNNNN``.

Each holds the adapter weights (peft's own format) and ``trainer_state.pt``: optimizer,
scheduler, position in the data, running losses and the random generators' states, so a
resumed run draws the same dropout masks and reports the same losses as one that never
stopped. Only the newest few are kept: each is a full copy of the adapter and optimizer.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.training.encoding import TrainingError

STATE_FILE = "trainer_state.pt"
KEEP = 2


@dataclass
class Progress:
    """Where training stands; ``micro`` is the next micro-batch of ``epoch`` to run."""

    epoch: int = 0
    micro: int = 0
    step: int = 0
    loss_sum: float = 0.0  # this epoch so far, weighted by answer tokens
    loss_tokens: int = 0
    tokens: int = 0  # input tokens trained on, all epochs
    seconds: float = 0.0  # time spent in training steps, all epochs
    history: list[dict[str, Any]] = field(default_factory=list)  # per finished epoch


def checkpoint_dir(out_dir: Path) -> Path:
    """Checkpoints live inside the adapter folder, so ``--resume`` needs only ``--out``."""
    return out_dir / "checkpoints"


def latest(out_dir: Path) -> Path | None:
    """The newest complete checkpoint (a state file is written last)."""
    done = [p for p in checkpoint_dir(out_dir).glob("step-*") if (p / STATE_FILE).exists()]
    return max(done, key=lambda p: p.name, default=None)


def save(out_dir: Path, model: Any, optimizer: Any, scheduler: Any, progress: Progress,
         hyper: dict[str, Any]) -> Path:
    """Write a checkpoint for ``progress.step`` and prune all but the newest ``KEEP``."""
    import torch

    path = checkpoint_dir(out_dir) / f"step-{progress.step:06d}"
    model.save_pretrained(path, safe_serialization=True)
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "progress": asdict(progress), "rng": rng, "hyper": hyper},
               path / STATE_FILE)
    for old in sorted(checkpoint_dir(out_dir).glob("step-*"))[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def restore(path: Path, model: Any, optimizer: Any, scheduler: Any,
            hyper: dict[str, Any]) -> Progress:
    """Load ``path`` into the freshly built model/optimizer; refuse a different setup."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = torch.load(path / STATE_FILE, weights_only=True)
    changed = sorted(k for k in hyper if state["hyper"].get(k) != hyper[k])
    if changed:
        raise TrainingError(f"cannot resume from {path}: {', '.join(changed)} changed since "
                            "that checkpoint (train into a new folder, or drop --resume)")
    device = next(p.device for p in model.parameters())
    weights = load_file(str(path / "adapter_model.safetensors"), device=str(device))
    set_peft_model_state_dict(model, weights)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["cpu"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return Progress(**state["progress"])
