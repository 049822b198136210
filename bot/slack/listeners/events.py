"""Mentions, DMs and thread follow-ups: parse, submit, ack. The pool's worker runs
``svc.ask`` (claim, who, limit, answer, record, metrics) with the conversation as the
place to answer, so the ack waits on nothing: not the dedupe claim, whose commit can
wait for the state database's write lock, nor the thread lookup of a follow-up."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.ask import Question
from bot.slack import messages
from bot.slack.conversation import tell
from bot.slack.dedupe import claim_final, event_key
from bot.slack.native_stream import delivery_for
from bot.slack.questions import mentions, message_key, question_text, skip_reason
from bot.slack.services import Services
from bot.slack.workers import Busy

log = logging.getLogger(__name__)


def register(app: App, svc: Services) -> None:
    @app.event("app_mention")
    def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if not _skip(svc, event):
            _submit(svc, _question(svc, body, event.get("thread_ts") or event["ts"],
                                   "mention"), _answer)

    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("channel_type") == "im":
            if not _skip(svc, event):
                _submit(svc, _question(svc, body, event.get("thread_ts"), "dm"), _answer)
        elif event.get("thread_ts") and not mentions(event.get("text", ""), svc.bot_user_id):
            cfg = svc.settings.channel(event["channel"])
            if not (cfg and cfg.mention_only) and not _skip(svc, event):
                _submit(svc, _question(svc, body, event["thread_ts"], "thread"), _follow_up)
        # a channel message that mentions the bot arrives as app_mention too


def _skip(svc: Services, event: dict[str, Any]) -> bool:
    cfg = svc.settings.channel(event.get("channel", ""))
    reason = skip_reason(event, respond_to_bots=bool(cfg and cfg.respond_to_bots))
    if reason is None and not event.get("user"):
        reason = "no user"
    if reason:
        log.debug("ignoring message %s: %s", event.get("ts"), reason)
    return reason is not None


def _question(svc: Services, body: dict[str, Any], thread: str | None,
              surface: str) -> Question:
    event = body["event"]
    dm = surface == "dm"
    return Question(question_text(event.get("text", ""), svc.bot_user_id), surface,
                    user_id=event.get("user", ""), channel_id=event["channel"], private=dm,
                    visibility="dm" if dm else "public", thread_ts=thread,
                    keys=tuple(k for k in (event_key(body), message_key(event)) if k),
                    team_id=body.get("team_id") or event.get("team", ""),
                    user_team=event.get("user_team") or event.get("team", ""),
                    message_ts=event.get("ts"))


def _submit(svc: Services, q: Question, job: Any) -> None:
    try:
        svc.workers.submit(job, svc, q)
    except Busy:
        try:  # whether a follow-up is ours is a database read: not on the ack path
            svc.notes.submit(_busy, svc, q)
        except Busy:
            log.warning("question %s dropped: every queue is full", q.keys[:1])


def _answer(svc: Services, q: Question) -> None:
    svc.ask(q, delivery_for(svc, q))


def _follow_up(svc: Services, q: Question) -> None:
    """A reply in a thread the bot answered in is a follow-up; no mention needed."""
    if svc.history.thread_turns(q.channel_id, q.thread_ts or "", limit=1):
        _answer(svc, q)


def _busy(svc: Services, q: Question) -> None:
    """Tell the asker to come back, once: claimed, so that a retry of this event does not
    tell them twice (Slack sends a mention as both app_mention and message, and retries
    with its event id)."""
    if q.surface == "thread" and not svc.history.thread_turns(q.channel_id,
                                                                q.thread_ts or "", limit=1):
        return
    if claim_final(svc, q.keys):
        tell(svc, q, messages.BUSY)
