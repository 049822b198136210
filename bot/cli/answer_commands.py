"""Answering commands: ask (one question or a batch) and eval."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from bot import STARTED
from bot.cli import render_answer
from bot.cli.options import (
    checked_question,
    checked_sources,
    input_error,
    one_or_batch,
    question_options,
    read_batch,
    split_values,
)
from model.validation import QuestionError


@click.command()
@question_options("Answer only from this source (repeatable).")
@click.pass_obj
def ask(app: Any, question: str | None, audiences: tuple[str, ...], sources: tuple[str, ...],
        batch: Any, as_json: bool) -> None:
    """Answer QUESTION from the policies, citing the passages used."""
    one_or_batch(question, batch)
    chosen = checked_sources(app.settings, sources, as_json)
    if batch is None:
        checked_question(question or "", as_json)  # before the models load
    from bot.answering import build_answerer, model_label
    from bot.ask import Ask, Question
    from model.answerer import Asker

    index = app.index()
    answerer = build_answerer(app.settings, index)
    index.warm()  # the model and the index, loaded before the question is asked
    load_ms = round((time.perf_counter() - STARTED) * 1000)  # apart from the answer's time
    # the CLI's Ask claims nothing, limits nothing and records nothing: the asker is the
    # one the options state, and the answer is printed
    asking = Ask(answerer=lambda: answerer, model=model_label(app.settings.generator))
    asker = Asker(audiences=tuple(split_values(audiences) or ()),
                  sources=tuple(chosen) if chosen else None)
    if batch is None:
        result = asking(Question(question or "", "cli", asker=asker))
        if isinstance(result.error, QuestionError):
            input_error(str(result.error), as_json)
        if result.error is not None:
            raise result.error
        assert result.answer is not None
        if as_json:
            click.echo(json.dumps({**result.answer.public_dict(), "load_ms": load_ms},
                                  ensure_ascii=False))
        else:
            render_answer.answer(result.answer, load_ms=load_ms)
        return
    click.secho(f"ready after {load_ms} ms of loading (imports, model, index)", dim=True,
                err=True)
    for item in read_batch(batch):
        result = asking(Question(item["question"], "cli", asker=asker))
        if isinstance(result.error, QuestionError):
            out = {"id": item["id"], "error": str(result.error)}
        elif result.error is not None:
            raise result.error
        else:
            assert result.answer is not None
            out = {"id": item["id"], **result.answer.public_dict()}
        click.echo(json.dumps(out, ensure_ascii=False))


@click.command(name="eval")
@click.argument("qa_file", type=click.File("r"))
@click.option("--baseline/--no-baseline", default=True,
              help="Also score the single-top-BM25-passage baseline.")
@click.option("--ids", type=click.Choice(["all", "even", "odd"]), default="all",
              show_default=True,
              help="Score only records whose id number is even or odd (a dev/test split).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the run as one self-contained HTML page.")
@click.option("--details", "details_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one JSON line per question (outcome, cited, quotes, score).")
@click.pass_obj
def evaluate(app: Any, qa_file: Any, baseline: bool, ids: str, as_json: bool,
             html_file: Path | None, details_file: Path | None) -> None:
    """Score answers on QA_FILE lines {id, question, gold_paths, answer[, audience]} or
    the slack-dev format (adds corpus, kind, follows): results per outcome and per kind."""
    from bot.evaluation import id_parity, run_evaluation

    items = list(read_batch(qa_file))
    scored = None if ids == "all" else {str(i.get("id")) for i in items
                                        if id_parity(i) == ids}
    details: list[dict[str, Any]] | None = [] if html_file or details_file else None
    report = run_evaluation(app.settings, app.index(), items, baseline=baseline,
                            scored=scored, details=details)
    if details is not None:
        from bot.reports.eval_page import eval_html, write_details

        if details_file:
            write_details(details, details_file)
        if html_file:
            title = f"PolicyBot evaluation: {Path(qa_file.name).name}"
            html_file.write_text(eval_html(report, details, title=title), encoding="utf-8")
            click.echo(f"wrote {html_file}", err=True)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_answer.eval_table(report))


COMMANDS = [ask, evaluate]
