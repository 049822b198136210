"""Answering commands: ask (one question or a batch) and eval."""

from __future__ import annotations

import json
from typing import Any

import click

from bot.cli import render_answer
from bot.cli.index_commands import _split
from indexer.errors import PolicyBotError
from model.answerer import Asker
from model.validation import QuestionError


def _questions(batch: Any) -> Any:
    for number, line in enumerate(batch, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            yield item, item["id"], str(item["question"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PolicyBotError(f"{batch.name}:{number}: expected a JSON object with "
                                 f"\"id\" and \"question\" ({exc})") from exc


@click.command()
@click.argument("question", required=False)
@click.option("--audience", "audiences", multiple=True,
              help="Asker's audience; repeat or comma-separate. Default: public only.")
@click.option("--source", "sources", multiple=True, help="Answer only from this source.")
@click.option("--batch", type=click.File("r"), help="JSONL file of {id, question} lines.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def ask(app: Any, question: str | None, audiences: tuple[str, ...], sources: tuple[str, ...],
        batch: Any, as_json: bool) -> None:
    """Answer QUESTION from the policies, citing the passages used."""
    if (question is None) == (batch is None):
        raise click.UsageError("give a QUESTION or --batch FILE (not both)")
    from bot.answering import build_answerer

    answerer = build_answerer(app.settings, app.index())
    chosen = _split(sources)
    asker = Asker(audiences=tuple(_split(audiences) or ()),
                  sources=tuple(chosen) if chosen else None)
    if batch is None:
        answer = answerer.answer(question, asker)
        if as_json:
            click.echo(json.dumps(answer.public_dict(), ensure_ascii=False))
        else:
            render_answer.answer(answer)
        return
    for _, qid, text in _questions(batch):
        try:
            out = {"id": qid, **answerer.answer(text, asker).public_dict()}
        except QuestionError as exc:
            out = {"id": qid, "error": str(exc)}
        click.echo(json.dumps(out, ensure_ascii=False))


@click.command(name="eval")
@click.argument("qa_file", type=click.File("r"))
@click.option("--baseline/--no-baseline", default=True,
              help="Also score the single-top-BM25-passage baseline.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def evaluate(app: Any, qa_file: Any, baseline: bool, as_json: bool) -> None:
    """Score answers on QA_FILE lines {id, question, gold_paths, answer[, audience]}."""
    from bot.evaluation import run_evaluation

    items = [item for item, _, _ in _questions(qa_file)]
    report = run_evaluation(app.settings, app.index(), items, baseline=baseline)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_answer.eval_table(report))


COMMANDS = [ask, evaluate]
