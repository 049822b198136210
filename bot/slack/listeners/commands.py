"""``/policy``: one command, sub-commands. Acks at once; the work goes to the pools and the
result comes back through the command's ``response_url``, visible to the asker only."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.history import AnswerRecord
from bot.slack import messages
from bot.slack.blocks import answer_blocks, answer_text
from bot.slack.blocks_admin import help_blocks
from bot.slack.blocks_cite import cite_blocks
from bot.slack.blocks_home import status_blocks
from bot.slack.outcome import failure_text, record_outcome
from bot.slack.services import Services
from bot.slack.stored import as_answer, parse_link, readable_by
from bot.slack.syncing import Reply, claim_reindex, refresh, reindex
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
            _reindex(svc, ack, respond, user, arg)
        elif sub == "refresh":
            if _rate_limited(svc, ack, user):
                return
            try:  # the admin check may call Slack: after the ack, in the notes pool
                svc.notes.submit(_refresh_checked, svc, respond, user, channel, arg)
            except Busy:
                ack(response_type="ephemeral", text=messages.BUSY)
                return
            ack()
        elif sub == "status":
            _background(svc, ack, _status, svc, respond, user)
        elif sub == "cite":
            if arg and not parse_link(arg) and _rate_limited(svc, ack, user):
                return  # a question: it is answered afresh, so it counts like one
            _background(svc, ack, _cite, svc, respond, user, channel, arg)
        else:
            svc.metrics.questions.labels("command").inc()
            if _rate_limited(svc, ack, user):
                return
            _background(svc, ack, _answer, svc, respond, user, channel, arg,
                        working=messages.WORKING)


def _rate_limited(svc: Services, ack: Ack, user: str) -> bool:
    """Counts the request against the user's limit; True (and acked) when over it."""
    wait = svc.limiter.check(user)
    if wait:
        svc.metrics.rate_limited.inc()
        ack(response_type="ephemeral", text=messages.rate_limited(wait))
    return bool(wait)


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
    refusal = svc.access.refusal(user)
    if refusal:
        respond(response_type="ephemeral", replace_original=True, text=refusal)
        return
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
    refusal = svc.access.refusal(user)
    if refusal:
        respond(response_type="ephemeral", text=refusal)
        return
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
        if not _may_read_channel(svc, user, channel, record):
            log.info("refused /policy cite of a %s answer in %s from %s in %s: not a member",
                     record.visibility, record.channel_id, user, channel)
            respond(response_type="ephemeral", text=messages.CITE_OTHER_CHANNEL)
            return
        answer = as_answer(record)
    respond(response_type="ephemeral", text=messages.CITE_TITLE, blocks=cite_blocks(answer))


def _may_read_channel(svc: Services, user: str, here: str, record: AnswerRecord) -> bool:
    """An answer's question and quotes are for the people of its channel: the caller is
    in the channel the command runs in, is the asker of a DM answer (that DM is theirs
    with PolicyBot), or Slack lists them among the channel's members."""
    if record.channel_id == here or (record.visibility == "dm" and record.user_id == user):
        return True
    return svc.access.in_channel(user, record.channel_id)


def _refresh_checked(svc: Services, respond: Respond, user: str, channel: str,
                     arg: str) -> None:
    """Who may refresh what, decided off the ack path; the sync itself queues in the
    sync pool, behind other syncs and never behind answers."""
    def reply(text: str) -> None:
        respond(response_type="ephemeral", text=text)

    refusal = svc.access.refusal(user)
    if refusal:
        reply(refusal)
        return
    if arg:
        if arg not in svc.source_names:
            reply(messages.unknown_source(arg, svc.source_names))
            return
        kind = next(s.type for s in svc.settings.sources if s.name == arg)
        if kind == "web" and not svc.access.is_admin(user):
            log.info("refused /policy refresh %s from %s: a web source, not an admin",
                     arg, user)
            reply(messages.REFRESH_WEB_ADMIN_ONLY)
            return
    try:
        svc.syncs.submit(_refresh, svc, reply, user, channel, arg)
    except Busy:
        reply(messages.BUSY)


def _refresh(svc: Services, reply: Reply, user: str, channel: str, arg: str) -> None:
    audiences = svc.access.audiences(user)  # the reply is ephemeral: the caller's own
    if arg:
        refresh(svc, [arg], {}, reply, audiences)
        return
    record = svc.history.latest_answer(channel, user_id=user)
    if record is None or not record.citations:
        reply(messages.REFRESH_NOTHING_CITED)
        return
    cited = {c["doc_id"]: c["title"] for c in record.citations if c.get("doc_id")}
    sources = sorted({c["source"] for c in record.citations})
    reply(messages.refresh_started(sources))
    refresh(svc, sources, cited, reply, audiences)


def _status(svc: Services, respond: Respond, user: str) -> None:
    respond(response_type="ephemeral", text=messages.STATUS_HEADER,
            blocks=status_blocks(index_status(svc.index), is_admin=svc.access.is_admin(user)))


def _reindex(svc: Services, ack: Ack, respond: Respond, user: str, arg: str) -> None:
    """Acks before anything that may call Slack: whether the user is an admin can take a
    user group lookup, and a slow or rate-limited one must never break the 3 s ack."""
    if arg and arg not in svc.source_names:
        ack(response_type="ephemeral", text=messages.unknown_source(arg, svc.source_names))
        return
    try:
        svc.notes.submit(_reindex_checked, svc, respond, user, arg or None)
    except Busy:
        ack(response_type="ephemeral", text=messages.BUSY)
        return
    ack()


def _reindex_checked(svc: Services, respond: Respond, user: str, source: str | None) -> None:
    def reply(text: str) -> None:
        respond(response_type="ephemeral", text=text)

    if not svc.access.is_admin(user):
        log.info("refused /policy reindex from %s: not an admin", user)
        reply(messages.NOT_ADMIN)
        return
    claimed = claim_reindex(svc)  # a second click (on any replica) starts nothing
    if claimed is None:
        reply(messages.REINDEX_ALREADY_RUNNING)
        return
    try:
        svc.syncs.submit(reindex, svc, user, source, claimed)
    except Busy:
        claimed.release()
        reply(messages.BUSY)
        return
    reply(messages.reindex_started(source))
