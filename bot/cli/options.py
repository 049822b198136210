"""Options and input handling shared by the commands that take questions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import click

from indexer.errors import ConfigError, PolicyBotError
from model.validation import Cleaned, QuestionError, clean_question


def question_options(source_help: str) -> Callable[[Any], Any]:
    """QUESTION, --audience, --source, --batch and --json, as search and ask take them."""
    def decorate(command: Any) -> Any:
        for option in reversed([
            click.argument("question", required=False),
            click.option("--audience", "audiences", multiple=True,
                         help="Asker's audience; repeat or comma-separate. "
                              "Default: public only."),
            click.option("--source", "sources", multiple=True, help=source_help),
            click.option("--batch", type=click.File("r"),
                         help="JSONL file of {id, question} lines."),
            click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
        ]):
            command = option(command)
        return command
    return decorate


def one_or_batch(question: str | None, batch: Any) -> None:
    if (question is None) == (batch is None):
        raise click.UsageError("give a QUESTION or --batch FILE (not both)")


def input_error(message: str, as_json: bool) -> NoReturn:
    """Stop on a question or option the command cannot use, with exit status 2 as for
    click's own usage errors. With ``--json`` the message is a JSON object on stdout
    (``{"error": ...}``), so a script that parses the output gets JSON either way."""
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    else:
        click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


def checked_sources(settings: Any, sources: tuple[str, ...], as_json: bool) -> list[str] | None:
    """The ``--source`` names, each one configured. An unknown name is an input error
    naming the configured sources, as ``sync --source`` reports it: searching a source
    that does not exist would otherwise print "not covered" and exit 0."""
    chosen = split_values(sources)
    for name in chosen or ():
        try:
            settings.source(name)
        except ConfigError as exc:
            input_error(str(exc), as_json)
    return chosen


def checked_question(question: str, as_json: bool) -> Cleaned:
    """The question as the answerer cleans it (``search`` and ``ask`` check alike: empty,
    too long with no question in it, nothing asked); a bad one is an input error, found
    before any model loads."""
    try:
        return clean_question(question)
    except QuestionError as exc:
        input_error(str(exc), as_json)


def split_values(values: tuple[str, ...]) -> list[str] | None:
    """Repeated flags and comma lists both work: ``--audience a --audience b,c``."""
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


def _objects(handle: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file."""
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise PolicyBotError(f"{handle.name}:{number}: not JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise PolicyBotError(f"{handle.name}:{number}: expected a JSON object")
        yield number, row


def read_jsonl(handle: Any) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file; a bad line names the file and line number."""
    return [row for _, row in _objects(handle)]


def read_batch(batch: Any) -> Iterator[dict[str, Any]]:
    """The ``{"id", "question"}`` objects of a JSONL file; a bad line names its number."""
    for number, item in _objects(batch):
        try:
            item["id"], item["question"] = item["id"], str(item["question"])
        except KeyError as exc:
            raise PolicyBotError(f"{batch.name}:{number}: expected a JSON object with "
                                 f"\"id\" and \"question\" (missing {exc})") from exc
        yield item
