"""LoRA supervised fine-tuning with peft and a plain torch loop.

A plain loop rather than HF Trainer: every step is visible and reproducible (seeded data
order per epoch, seeded dropout, random states saved in checkpoints), resuming is exact,
and the loss is taken on the assistant's tokens only (see :mod:`model.training.encoding`).
torch, transformers and peft are imported inside :func:`train`, never at module import.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from model.training import checkpoints
from model.training.encoding import TrainingError, encode_all, read_examples
from model.training.loop import Loop
from model.training.model_card import training_metrics, write_card


@dataclass
class TrainConfig:
    """Everything a run depends on; the CLI's options map onto it one to one."""

    base: str  # model folder or hub id (available offline)
    data: Path  # folder with train.jsonl and validation.jsonl
    out: Path  # adapter folder
    rank: int = 16
    alpha: float = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    epochs: int = 3
    lr: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 1
    max_seq_len: int = 2048
    seed: int = 0
    resume: bool = False
    device: str = "auto"  # auto: cuda when available
    save_every: int = 0  # also checkpoint every N optimizer steps (0: each epoch only)
    max_steps: int = 0  # stop after N optimizer steps (0: run every epoch)
    gradient_checkpointing: bool = False

    def check(self) -> None:
        """Reject impossible values before minutes are spent loading a model."""
        if self.rank < 1 or self.alpha <= 0 or not 0 <= self.dropout < 1:
            raise TrainingError("need rank >= 1, alpha > 0 and 0 <= dropout < 1")
        if self.epochs < 1 or self.lr <= 0 or self.batch_size < 1 or self.grad_accum < 1:
            raise TrainingError("need epochs, batch size and grad accumulation >= 1, lr > 0")
        if self.max_seq_len < 16 or not self.target_modules:
            raise TrainingError("need max_seq_len >= 16 and at least one target module")

    def hyper(self) -> dict[str, Any]:
        """What a checkpoint must agree with to be resumed."""
        keep = ("base", "rank", "alpha", "dropout", "target_modules", "epochs", "lr",
                "batch_size", "grad_accum", "max_seq_len", "seed", "max_steps")
        out = {k: v for k, v in asdict(self).items() if k in keep}
        out["target_modules"] = list(self.target_modules)
        return out


def _device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("--device cuda asked for, but torch sees no CUDA device")
    return choice


def _load(cfg: TrainConfig, device: str) -> tuple[Any, Any, Any]:
    """(tokenizer, peft model, dtype): bf16 weights on a GPU that has it, fp32 otherwise."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() \
        else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(cfg.base)
        model = AutoModelForCausalLM.from_pretrained(cfg.base, dtype=dtype).to(device)
    except (OSError, ValueError) as exc:
        where = "" if Path(cfg.base).is_dir() else (
            " (not a folder; a hub id must already be in the local Hugging Face cache)")
        raise TrainingError(f"cannot load base model {cfg.base!r}{where}: "
                            f"{str(exc).splitlines()[0]}") from exc
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, bias="none",
                      target_modules=list(cfg.target_modules), task_type="CAUSAL_LM")
    try:
        with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
            warnings.filterwarnings("ignore", category=FutureWarning)
            model = get_peft_model(model, lora)
    except ValueError as exc:  # e.g. a target module the architecture does not have
        raise TrainingError(f"cannot apply LoRA to {cfg.base!r}: {exc}") from exc
    return tokenizer, model, dtype


def _max_len(cfg: TrainConfig, model: Any) -> int:
    limit = getattr(model.config, "max_position_embeddings", None)
    return min(cfg.max_seq_len, limit) if isinstance(limit, int) and limit > 0 \
        else cfg.max_seq_len


def _fingerprint(data: Path) -> str:
    digest = hashlib.sha256()
    for name in ("train.jsonl", "validation.jsonl"):
        path = data / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def train(cfg: TrainConfig, progress: bool = True) -> dict[str, Any]:
    """Train, write the adapter, its card and metrics into ``cfg.out``; return the metrics."""
    import torch
    from tqdm import tqdm

    cfg.check()
    device = _device(cfg.device)
    torch.manual_seed(cfg.seed)
    tokenizer, model, dtype = _load(cfg, device)
    max_len = _max_len(cfg, model)
    train_raw = read_examples(cfg.data / "train.jsonl")
    val_raw = read_examples(cfg.data / "validation.jsonl")
    train_set, skipped = encode_all(tokenizer, train_raw, max_len)
    val_set, skipped_val = encode_all(tokenizer, val_raw, max_len)
    if not train_set:
        raise TrainingError(f"no training examples in {cfg.data / 'train.jsonl'} fit "
                            f"{max_len} tokens ({skipped} too long)")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None \
        else tokenizer.eos_token_id
    micro_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
    steps_per_epoch = math.ceil(micro_per_epoch / cfg.grad_accum)
    total = steps_per_epoch * cfg.epochs
    total = min(total, cfg.max_steps) if cfg.max_steps else total
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: max(0.0, 1 - s / total))  # linear decay to zero
    hyper = {**cfg.hyper(), "data": _fingerprint(cfg.data)}
    state = checkpoints.Progress()
    found = checkpoints.latest(cfg.out) if cfg.resume else None
    if cfg.resume and found is None:
        raise TrainingError(f"--resume: no checkpoint under {checkpoints.checkpoint_dir(cfg.out)}")
    if found is not None:
        state = checkpoints.restore(found, model, optimizer, scheduler, hyper)
    loop = Loop(model, optimizer, scheduler, pad_id, device, cfg.batch_size, cfg.grad_accum,
                cfg.seed, cfg.save_every,
                lambda: checkpoints.save(cfg.out, model, optimizer, scheduler, state, hyper))
    model.train()
    bar = tqdm(total=total, initial=state.step, disable=not progress, desc="training",
               unit="step", dynamic_ncols=True)
    while state.epoch < cfg.epochs and state.step < total:
        loop.run_epoch(train_set, state, bar, total)
        if state.micro < micro_per_epoch:  # stopped by max_steps inside the epoch
            break
        _close_epoch(state, loop.evaluate(val_set), state.epoch + 1)
        bar.set_postfix(val=state.history[-1]["val_loss"])
        state.epoch, state.micro = state.epoch + 1, 0
        loop.checkpoint()
    if 0 < state.micro < micro_per_epoch:  # stopped by max_steps: report the part-epoch
        _close_epoch(state, loop.evaluate(val_set),
                     round(state.epoch + state.micro / micro_per_epoch, 3))
    bar.close()
    model.save_pretrained(cfg.out, safe_serialization=True)
    metrics = training_metrics(state, device, str(dtype).removeprefix("torch."),
                               {**cfg.hyper(), "max_seq_len": max_len}, cfg.data,
                               len(train_set), len(val_set), skipped + skipped_val)
    write_card(cfg.out, metrics)
    return metrics


def _close_epoch(state: checkpoints.Progress, val_loss: float | None, epoch: float) -> None:
    """Record an epoch's token-weighted train loss and its validation loss; reset sums."""
    state.history.append({
        "epoch": epoch,
        "train_loss": state.loss_sum / state.loss_tokens if state.loss_tokens else None,
        "val_loss": val_loss})
    state.loss_sum, state.loss_tokens = 0.0, 0
