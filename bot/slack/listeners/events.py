"""Mentions, DMs and thread follow-ups: decide in milliseconds, answer in the pool."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.slack import messages
from bot.slack.conversation import Question, answer_in_conversation
from bot.slack.dedupe import event_key
from bot.slack.questions import mentions, message_key, question_text, skip_reason
from bot.slack.services import Services
from bot.slack.workers import Busy

log = logging.getLogger(__name__)


def register(app: App, svc: Services) -> None:
    @app.event("app_mention")
    def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if not _skip(svc, event):
            _ask(svc, body, event.get("thread_ts") or event["ts"], private=False,
                 surface="mention")

    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("channel_type") == "im":
            if not _skip(svc, event):
                _ask(svc, body, event.get("thread_ts"), private=True, surface="dm")
        elif event.get("thread_ts") and not mentions(event.get("text", ""), svc.bot_user_id):
            _on_thread_reply(svc, body)
        # a channel message that mentions the bot arrives as app_mention too


def _on_thread_reply(svc: Services, body: dict[str, Any]) -> None:
    """A reply in a thread the bot answered in is a follow-up; no mention needed."""
    event = body["event"]
    channel, thread = event["channel"], event["thread_ts"]
    cfg = svc.settings.channel(channel)
    if (cfg and cfg.mention_only) or not svc.history.thread_turns(channel, thread, limit=1):
        return
    if not _skip(svc, event):
        _ask(svc, body, thread, private=False, surface="thread")


def _skip(svc: Services, event: dict[str, Any]) -> bool:
    cfg = svc.settings.channel(event.get("channel", ""))
    reason = skip_reason(event, respond_to_bots=bool(cfg and cfg.respond_to_bots))
    if reason is None and not event.get("user"):
        reason = "no user"
    if reason:
        log.debug("ignoring message %s: %s", event.get("ts"), reason)
    return reason is not None


def _ask(svc: Services, body: dict[str, Any], thread: str | None, private: bool,
         surface: str) -> None:
    """Queue the question; everything else happens in the worker (:func:`_take`), so the
    ack waits on nothing: not even the dedupe claim, whose commit can wait for the state
    database's write lock while answers are being recorded (it made the ack's tail)."""
    event = body["event"]
    q = Question(event.get("user", ""), event["channel"],
                 question_text(event.get("text", ""), svc.bot_user_id), thread, private,
                 surface)
    keys = [k for k in (event_key(body), message_key(event)) if k]
    try:
        svc.workers.submit(_take, svc, q, keys)
    except Busy:
        # claimed here, so that a retry of this event does not tell the asker twice (Slack
        # sends a mention as both app_mention and message, and retries with its event id)
        if _claim(svc, keys, final=True):
            _tell(svc, q, messages.BUSY)


def _take(svc: Services, q: Question, keys: list[str]) -> None:
    """In the worker: claim, check, answer. The rate limit comes after the claim, so a
    retry of a question is never counted against its asker."""
    if not _claim(svc, keys):
        return
    with svc.claims.held(keys):  # renewed while this process works, final once it is done
        _answer(svc, q)


def _claim(svc: Services, keys: list[str], final: bool = False) -> bool:
    if svc.claims.take(keys, final=final):
        return True
    svc.metrics.duplicates.inc()
    log.info("skipping %s: already handled (a retry or duplicate delivery)", keys[0])
    return False


def _answer(svc: Services, q: Question) -> None:
    svc.metrics.questions.labels(q.surface).inc()
    if not q.text:
        _tell(svc, q, messages.EMPTY_QUESTION)
        return
    if not q.private and svc.access.sources(q.channel_id) == ():
        _tell(svc, q, messages.CHANNEL_NOT_ALLOWED)
        return
    refusal = svc.access.refusal(q.user_id)  # a guest, an outsider, or unknown
    if refusal:
        _tell(svc, q, refusal)
        return
    wait = svc.limiter.check(q.user_id)
    if wait:
        svc.metrics.rate_limited.inc()
        _tell(svc, q, messages.rate_limited(wait))
        return
    answer_in_conversation(svc, q)


def _tell(svc: Services, q: Question, text: str) -> None:
    """A note only the asker sees (in a DM every message is only theirs), posted after the
    ack: a slow or rate-limited Web API must never hold the acknowledgement up."""
    try:
        svc.notes.submit(_post_note, svc, q, text)
    except Busy:
        log.warning("note to %s dropped: the notes queue is full", q.user_id)


def _post_note(svc: Services, q: Question, text: str) -> None:
    method = "chat.postMessage" if q.private else "chat.postEphemeral"
    try:
        if q.private:
            svc.client.chat_postMessage(channel=q.channel_id, thread_ts=q.thread_ts, text=text)
        else:
            svc.client.chat_postEphemeral(channel=q.channel_id, user=q.user_id,
                                          thread_ts=q.thread_ts, text=text)
    except SlackApiError as exc:
        svc.slack_error(method, exc)
