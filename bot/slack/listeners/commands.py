"""``/policy``: one command, sub-commands. Acks at once; the work goes to the pools and the
result comes back through the command's ``response_url``, visible to the asker only."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.ask import Question
from bot.history import AnswerRecord
from bot.slack import messages
from bot.slack.blocks_cite import cite_blocks
from bot.slack.blocks_commands import help_blocks
from bot.slack.blocks_home import status_blocks
from bot.slack.replies import Cited, Ephemeral, refused
from bot.slack.services import Services
from bot.slack.stored import as_answer, parse_link, readable_by
from bot.slack.syncing import Reply, refresh, reindex_checked
from bot.slack.workers import Busy, Workers
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
            if arg and arg not in svc.source_names:
                ack(response_type="ephemeral",
                    text=messages.unknown_source(arg, svc.source_names))
            else:  # whether the caller is an admin may call Slack: after the ack
                _background(svc, ack, svc.notes, reindex_checked, svc, user, arg or None,
                            _say(respond))
        elif sub == "refresh":
            wait = svc.limiter.check(user)  # a sync, not a question: limited like one
            if wait:
                svc.metrics.rate_limited.inc()
                ack(response_type="ephemeral", text=messages.rate_limited(wait))
            else:  # the admin check may call Slack: after the ack, in the notes pool
                _background(svc, ack, svc.notes, _refresh_checked, svc, respond, user,
                            channel, arg)
        elif sub == "status":
            _background(svc, ack, svc.workers, _status, svc, respond, user)
        elif sub == "cite" and arg and not parse_link(arg):  # cite what answers it now
            q = Question(arg, "cite", user_id=user, channel_id=channel)
            _background(svc, ack, svc.workers, svc.ask, q, Cited(respond))
        elif sub == "cite":
            _background(svc, ack, svc.workers, _cite, svc, respond, user, channel, arg)
        else:
            q = Question(arg, "command", user_id=user, channel_id=channel)
            _background(svc, ack, svc.workers, svc.ask, q, Ephemeral(respond),
                        working=messages.WORKING)


def _say(respond: Respond) -> Reply:
    def reply(text: str) -> None:
        respond(response_type="ephemeral", text=text)

    return reply


def _background(svc: Services, ack: Ack, pool: Workers, fn: Any, *args: Any,
                working: str | None = None) -> None:
    """Queue first, then ack with what the user should see now: the queue's verdict."""
    try:
        pool.submit(fn, *args)
    except Busy:
        ack(response_type="ephemeral", text=messages.BUSY)
        return
    if working:
        ack(response_type="ephemeral", text=working)
    else:
        ack()


def _cite(svc: Services, respond: Respond, user: str, channel: str, arg: str) -> None:
    """The passages behind an answer already given: the latest here, or a linked one."""
    reply = _say(respond)
    if refused(svc, user, reply):
        return
    link = parse_link(arg) if arg else None
    record = (svc.history.answer_at(*link) if link
              else svc.history.latest_answer(channel, user_id=user))
    if record is None or not readable_by(record, user):
        reply(messages.CITE_NOT_FOUND)
        return
    if not _may_read_channel(svc, user, channel, record):
        log.info("refused /policy cite of a %s answer in %s from %s in %s: not a member",
                 record.visibility, record.channel_id, user, channel)
        reply(messages.CITE_OTHER_CHANNEL)
        return
    respond(response_type="ephemeral", text=messages.CITE_TITLE,
            blocks=cite_blocks(as_answer(record)))


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
    reply = _say(respond)
    if refused(svc, user, reply):
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
