"""``/policy``: one command, sub-commands. Acks at once; the work goes to the pools and the
result comes back through the command's ``response_url``, visible to the asker only."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import messages
from bot.slack.blocks import answer_blocks, answer_text
from bot.slack.blocks_admin import help_blocks
from bot.slack.blocks_cite import cite_blocks
from bot.slack.blocks_home import status_blocks
from bot.slack.outcome import failure_text, record_outcome
from bot.slack.services import Services
from bot.slack.stored import as_answer, parse_link, readable_by
from bot.slack.syncing import refresh, reindex
from bot.slack.workers import Busy
from indexer.status import index_status

log = logging.getLogger(__name__)
SUBCOMMANDS = {"cite", "refresh", "reindex", "status", "help"}


def register(app: App, svc: Services) -> None:
    @app.command("/policy")
    def on_policy(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        word, _, rest = (command.get("text") or "").strip().partition(" ")
        sub = word.lower() if word.lower() in SUBCOMMANDS else ""
        arg = rest.strip() if sub else (command.get("text") or "").strip()
        user, channel = command["user_id"], command["channel_id"]
        if sub == "help" or not (sub or arg):
            ack(response_type="ephemeral", text=messages.HELP_COMMAND, blocks=help_blocks())
        elif sub == "reindex":
            _reindex(svc, ack, user, arg)
        elif sub == "refresh":
            try:  # the sync pool: refreshes queue behind each other, never behind answers
                svc.syncs.submit(_refresh, svc, respond, user, channel, arg)
            except Busy:
                ack(response_type="ephemeral", text=messages.BUSY)
                return
            ack()
        elif sub == "status":
            _background(svc, ack, _status, svc, respond)
        elif sub == "cite":
            _background(svc, ack, _cite, svc, respond, user, channel, arg)
        else:
            svc.metrics.questions.labels("command").inc()
            wait = svc.limiter.check(user)
            if wait:
                svc.metrics.rate_limited.inc()
                ack(response_type="ephemeral", text=messages.rate_limited(wait))
                return
            _background(svc, ack, _answer, svc, respond, user, channel, arg,
                        working=messages.WORKING)


def _background(svc: Services, ack: Ack, fn: Any, *args: Any, working: str | None = None
                ) -> None:
    """Queue first, then ack with what the user should see now: the queue's verdict."""
    try:
        svc.workers.submit(fn, *args)
    except Busy:
        ack(response_type="ephemeral", text=messages.BUSY)
        return
    if working:
        ack(response_type="ephemeral", text=working)
    else:
        ack()


def _answer(svc: Services, respond: Respond, user: str, channel: str, question: str) -> None:
    started = time.perf_counter()
    asker = svc.access.asker(user, channel, private=True)
    if asker.sources == ():
        respond(response_type="ephemeral", replace_original=True,
                text=messages.CHANNEL_NOT_ALLOWED)
        return
    try:
        answer, model = svc.answer(question, asker, channel_id=channel)
    except Exception as exc:  # noqa: BLE001 - the asker always gets a reply
        respond(response_type="ephemeral", replace_original=True,
                text=failure_text(svc, exc))
        return
    answer_id = svc.history.record_answer(answer, user_id=user, channel_id=channel,
                                          thread_ts=None, visibility="ephemeral",
                                          model=model,
                                          audiences=asker.audiences,
                                          sources=asker.sources)
    respond(response_type="ephemeral", replace_original=True, text=answer_text(answer),
            blocks=answer_blocks(answer, answer_id=answer_id, share=True))
    record_outcome(svc, answer, time.perf_counter() - started)


def _cite(svc: Services, respond: Respond, user: str, channel: str, arg: str) -> None:
    link = parse_link(arg) if arg else None
    if arg and not link:  # a fresh question: cite what answers it now
        try:
            answer, _ = svc.answer(arg, svc.access.asker(user, channel, private=True),
                                   channel_id=channel)
        except Exception as exc:  # noqa: BLE001
            respond(response_type="ephemeral", text=failure_text(svc, exc))
            return
    else:
        record = (svc.history.answer_at(*link) if link
                  else svc.history.latest_answer(channel, user_id=user))
        if record is None or not readable_by(record, user):
            respond(response_type="ephemeral", text=messages.CITE_NOT_FOUND)
            return
        answer = as_answer(record)
    respond(response_type="ephemeral", text=messages.CITE_TITLE, blocks=cite_blocks(answer))


def _refresh(svc: Services, respond: Respond, user: str, channel: str, arg: str) -> None:
    def reply(text: str) -> None:
        respond(response_type="ephemeral", text=text)

    if arg:
        if arg not in svc.source_names:
            reply(messages.unknown_source(arg, svc.source_names))
            return
        refresh(svc, [arg], {}, reply)
        return
    record = svc.history.latest_answer(channel, user_id=user)
    if record is None or not record.citations:
        reply(messages.REFRESH_NOTHING_CITED)
        return
    cited = {c["doc_id"]: c["title"] for c in record.citations if c.get("doc_id")}
    sources = sorted({c["source"] for c in record.citations})
    reply(messages.refresh_started(sources))
    refresh(svc, sources, cited, reply)


def _status(svc: Services, respond: Respond) -> None:
    respond(response_type="ephemeral", text=messages.STATUS_HEADER,
            blocks=status_blocks(index_status(svc.index)))


def _reindex(svc: Services, ack: Ack, user: str, arg: str) -> None:
    if not svc.access.is_admin(user):
        log.info("refused /policy reindex from %s: not an admin", user)
        ack(response_type="ephemeral", text=messages.NOT_ADMIN)
        return
    if arg and arg not in svc.source_names:
        ack(response_type="ephemeral", text=messages.unknown_source(arg, svc.source_names))
        return
    try:
        svc.syncs.submit(reindex, svc, user, arg or None)
    except Busy:
        ack(response_type="ephemeral", text=messages.BUSY)
        return
    ack(response_type="ephemeral", text=messages.reindex_started(arg or None))
