"""Indexing commands: sync, search, status, scheduler, demo."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click

from bot.cli import render
from bot.cli.db_commands import upgrade_state
from bot.cli.options import (
    checked_question,
    checked_sources,
    one_or_batch,
    question_options,
    read_batch,
    split_values,
)
from model.validation import QuestionError, clean_question


@click.command()
@click.option("--source", "sources", multiple=True, help="Sync only this source (repeatable).")
@click.option("--full", is_flag=True, help="Re-read every document, ignoring versions.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def sync(app: Any, sources: tuple[str, ...], full: bool, as_json: bool) -> None:
    """Bring the index in step with the configured sources."""
    if not app.settings.sources:
        raise click.UsageError("no sources configured: write a configuration for your folder, "
                               "repository or site with `policybot init PATH|GIT_URL|URL`, "
                               "then run `policybot --config policybot.toml sync`")
    upgrade_state(app.settings)
    result = app.index().sync(list(sources) or None, full=full)
    if as_json:
        click.echo(json.dumps(result.summary()))
    else:
        render.sync_result(result)
    if not result.ok:
        raise SystemExit(1)


@click.command()
@click.option("-k", "k", type=click.IntRange(1, 100), help="Number of passages.")
@question_options("Search only this source (repeatable).")
@click.pass_obj
def search(app: Any, question: str | None, k: int | None, audiences: tuple[str, ...],
           sources: tuple[str, ...], batch: Any, as_json: bool) -> None:
    """Show the passages that best match QUESTION, with their links."""
    one_or_batch(question, batch)
    chosen = checked_sources(app.settings, sources, as_json)
    if batch is None:
        cleaned = checked_question(question or "", as_json)
        if cleaned.text != " ".join((question or "").split()):
            for note in cleaned.notes:  # a long message: say which part was searched
                click.secho(f"note: {note}", fg="yellow", err=True)
    retriever = app.index().retriever()
    opts = {"k": k, "audiences": split_values(audiences), "sources": chosen}
    if batch is None:
        results = retriever.search(cleaned.text, **opts)
        if as_json:
            click.echo(json.dumps([p.public_dict() for p in results], ensure_ascii=False))
        else:
            render.passages(cleaned.text, results)
        return
    for item in read_batch(batch):
        try:
            text = clean_question(item["question"]).text
        except QuestionError as exc:  # one bad line: its error, as `ask --batch` gives it
            click.echo(json.dumps({"id": item["id"], "error": str(exc)}, ensure_ascii=False))
            continue
        results = retriever.search(text, **opts)
        click.echo(json.dumps({"id": item["id"], "results": [p.public_dict() for p in results]},
                              ensure_ascii=False))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(app: Any, as_json: bool) -> None:
    """Sources, documents, chunks, last and next sync."""
    from indexer.status import index_status

    info = index_status(app.index())
    click.echo(json.dumps(info, default=str, indent=2) if as_json else render.status(info))


@click.command()
@click.pass_obj
def scheduler(app: Any) -> None:
    """Run scheduled syncs in the foreground until interrupted."""
    from indexer.scheduler import ScheduleLeader

    index = app.index()
    if not any(s.schedule for s in index.settings.sources):
        raise click.UsageError("no source has a schedule: add schedule = \"6h\" (or a cron "
                               "line) to a [[sources]] entry")
    upgrade_state(app.settings)
    _alert_from_here(app.settings, index)
    sched = ScheduleLeader(index).start()  # stands by while another process schedules
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("scheduler running; Ctrl-C to stop", err=True)
    stop.wait()
    sched.shutdown(wait=True)


def _alert_from_here(settings: Any, index: Any) -> None:
    """When the scheduler runs alone (``slack.run_scheduler = false`` on the bot replicas),
    it is the process that sees syncs finish, so it posts the stale-answer alerts."""
    from bot.slack.secrets import bot_token_only

    secrets = bot_token_only(settings.slack)
    if secrets is None:
        click.echo("SLACK_BOT_TOKEN not set: stale-answer alerts are off", err=True)
        return
    from bot.slack.app import watch_syncs
    from bot.slack.client import web_client
    from bot.slack.services import Services

    watch_syncs(Services.build(settings, web_client(secrets.bot_token, secrets.api_url), index))


@click.command()
@click.argument("question", default="How many days of annual leave do I get?")
@click.pass_obj
def demo(app: Any, question: str) -> None:
    """Index the bundled sample handbook (in HOME/demo) and answer QUESTION."""
    from bot.answering import build_answerer, model_label
    from bot.ask import Ask, Question
    from bot.cli import render_answer
    from bot.settings import load_app_settings
    from indexer.embedding import Embedder
    from indexer.index import PolicyIndex
    from indexer.sample import sample_source

    settings = load_app_settings(app.config, home=app.settings.home / "demo",
                                 database_url=None, lancedb_uri=None,
                                 sources=[sample_source()])
    # The exported embedding model is cached in the main home, shared with real use.
    index = PolicyIndex(settings, embedder=Embedder(settings.embedding, app.settings.home))
    render.sync_result(index.sync())
    click.secho(f"\nQ: {question}\n", bold=True)
    answerer = build_answerer(settings, index)
    result = Ask(answerer=lambda: answerer, model=model_label(settings.generator))(
        Question(question, "cli"))
    if result.error is not None:
        raise result.error
    assert result.answer is not None
    render_answer.answer(result.answer)


COMMANDS = [sync, search, status, scheduler, demo]
