"""``policybot adapters``: build training data, train, validate, evaluate, push, list.

Training needs the ``[train]`` extra (peft, accelerate); everything heavy is imported inside
the command that uses it, so ``policybot --help`` and the bot stay light. Errors from the
training and adapter modules become one-line messages at the CLI's error boundary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bot.cli import config_option, render_adapters
from bot.cli.options import read_jsonl, split_values
from indexer.errors import PolicyBotError

DIR = click.Path(path_type=Path, file_okay=False)
EXISTING_DIR = click.Path(path_type=Path, file_okay=False, exists=True)


@click.group()
def adapters() -> None:
    """Train LoRA adapters on curated and 👍 answers, and serve them with vLLM."""


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


@click.command()
@click.option("--out", type=DIR, required=True, help="Folder for train/validation JSONL.")
@click.option("--curated", type=click.File("r", encoding="utf-8"),
              help="JSONL of {question, answer[, citations: [{doc_id, quote}]]}.")
@click.option("--feedback/--no-feedback", default=True, help="Use answers users marked 👍.")
@click.option("--val-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.1,
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Changes the split.")
@click.option("--audience", "audiences", multiple=True,
              help="Retrieve as these audiences (default: public documents only).")
@click.option("--context-tokens", type=click.IntRange(min=512),
              help="Prompt window to fit passages in (default: generator.context_tokens).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def dataset(app: Any, out: Path, curated: Any, feedback: bool, val_fraction: float, seed: int,
            audiences: tuple[str, ...], context_tokens: int | None, as_json: bool) -> None:
    """Chat examples with passages retrieved now, citations re-checked and renumbered."""
    from bot.answering import numbered
    from model.generators.openai_http import fit_messages
    from model.generators.openai_wire import DEFAULT_MAX_TOKENS
    from model.training.dataset import DatasetError, build_dataset, curated_candidates

    settings = app.settings
    try:
        candidates = curated_candidates(read_jsonl(curated)) if curated else []
    except DatasetError as exc:
        raise PolicyBotError(f"{curated.name}: {exc}") from exc
    up: list[dict[str, Any]] = []
    down: list[dict[str, Any]] = []
    if feedback:
        from bot.history import BotHistory

        history = BotHistory(settings.db_url)
        up, down = history.feedback_records("up"), history.feedback_records("down")
    if not candidates and not up:
        raise PolicyBotError("nothing to build from: give --curated FILE and/or collect 👍 "
                             "feedback in Slack")
    retriever = app.index().retriever()
    who = split_values(audiences)
    window = context_tokens or settings.generator.context_tokens
    max_tokens = int(settings.generator.options.get("max_tokens", DEFAULT_MAX_TOKENS))

    def retrieve(question: str) -> list[Any]:
        return numbered(retriever.search(question, k=settings.answer.passages, audiences=who))

    built = build_dataset(candidates, up, down, retrieve, val_fraction=val_fraction, seed=seed,
                          messages_for=lambda q, ps: fit_messages(q, ps, (), window, max_tokens))
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "train.jsonl", built.train)
    _write_jsonl(out / "validation.jsonl", built.validation)
    (out / "report.json").write_text(json.dumps(built.report, indent=2, ensure_ascii=False)
                                     + "\n", encoding="utf-8")
    if as_json:
        click.echo(json.dumps(built.report, ensure_ascii=False))
    else:
        click.echo(render_adapters.dataset_report(built.report))
        click.echo(f"written to {out}/ (train.jsonl, validation.jsonl, report.json)")


@click.command(name="train")
@click.option("--base", required=True, help="Base model folder (or a hub id cached offline).")
@click.option("--data", type=EXISTING_DIR, required=True, help="Output of `adapters dataset`.")
@click.option("--out", type=DIR, required=True, help="Adapter folder to write.")
@click.option("--rank", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=32.0,
              show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.05,
              show_default=True)
@click.option("--target-modules", default="q_proj,v_proj", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-4,
              show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--grad-accum", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--max-seq-len", type=click.IntRange(min=16), default=2048, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoints' latest.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1…")
@click.option("--save-every", type=click.IntRange(min=0), default=0,
              help="Also checkpoint every N optimizer steps.")
@click.option("--max-steps", type=click.IntRange(min=0), default=0,
              help="Stop after N optimizer steps (a quick trial).")
@click.option("--gradient-checkpointing", is_flag=True, help="Less GPU memory, slower steps.")
def train_command(base: str, data: Path, out: Path, rank: int, alpha: float, dropout: float,
                  target_modules: str, epochs: int, lr: float, batch_size: int,
                  grad_accum: int, max_seq_len: int, seed: int, resume: bool, device: str,
                  save_every: int, max_steps: int, gradient_checkpointing: bool) -> None:
    """LoRA fine-tuning on the assistant's tokens only; writes a vLLM-loadable adapter."""
    try:
        from model.training.encoding import TrainingError
        from model.training.trainer import TrainConfig, train
    except ImportError as exc:
        raise PolicyBotError(f"training needs the [train] extra ({exc}): "
                             "pip install 'policybot[train]'") from exc
    modules = tuple(m.strip() for m in target_modules.split(",") if m.strip())
    cfg = TrainConfig(base=base, data=data, out=out, rank=rank, alpha=alpha, dropout=dropout,
                      target_modules=modules, epochs=epochs, lr=lr, batch_size=batch_size,
                      grad_accum=grad_accum, max_seq_len=max_seq_len, seed=seed,
                      resume=resume, device=device, save_every=save_every,
                      max_steps=max_steps, gradient_checkpointing=gradient_checkpointing)
    try:
        metrics = train(cfg)
    except TrainingError as exc:
        raise PolicyBotError(str(exc)) from exc
    click.echo(render_adapters.training(metrics, out))


@click.command()
@click.argument("adapter_dir", type=click.Path(path_type=Path))
@click.option("--max-lora-rank", type=click.IntRange(min=1),
              help="vLLM's --max-lora-rank (default: adapters.max_lora_rank).")
@click.option("--base", help="The served base model (default: generator.model).")
@click.pass_obj
def validate(app: Any, adapter_dir: Path, max_lora_rank: int | None, base: str | None) -> None:
    """Check ADAPTER_DIR for anything vLLM would refuse to load."""
    from model.adapters.validate import has_errors, validate_adapter

    found = validate_adapter(adapter_dir, max_lora_rank or app.settings.adapters.max_lora_rank,
                             base or app.settings.generator.model)
    render_adapters.findings(found)
    if has_errors(found):
        raise SystemExit(1)


def _register() -> None:
    from bot.cli import lora_release_commands

    for command in [dataset, train_command, validate, *lora_release_commands.COMMANDS]:
        adapters.add_command(config_option(command))


_register()
COMMANDS = [adapters]
