"""The agent view: greet whoever opens PolicyBot's Messages tab, and offer starter prompts.

Slack's agent messaging experience (manifest ``features.agent_view``) keeps conversations
in the app's Messages tab and announces a visit with ``app_home_opened`` (``tab:
"messages"``); the older assistant experience (``assistant_view``) sends
``assistant_thread_started`` for each new thread instead. Either way PolicyBot greets the
person once and sets the configured ``slack.suggested_prompts`` with
``assistant.threads.setSuggestedPrompts``: without ``thread_ts`` in the agent view (Slack's
docs: a ``thread_ts`` there makes the call fail silently; the prompts attach to the latest
message, the greeting just posted), with the thread's ``thread_ts`` in an assistant thread
(where the prompts belong to that thread, so every new thread gets them).

Questions are not handled here: a message in the Messages tab is a DM (``message.im``,
with ``thread_ts`` inside a thread) and takes the one DM path in ``listeners/events.py``.
Whatever Slack refuses here (``not_allowed``, ``unknown_method``, …) is counted and logged,
and never stands in the way of an answer: this runs in the notes pool, apart from answers.
"""

from __future__ import annotations

import hashlib
import json
import logging

from slack_sdk.errors import SlackApiError

from bot.greeting_ledger import Visit
from bot.slack import messages
from bot.slack.services import Services

log = logging.getLogger(__name__)


def prompts(svc: Services) -> list[dict[str, str]]:
    """``slack.suggested_prompts`` as Slack's ``prompts`` argument: ``{title, message}``."""
    return [{"title": p.title, "message": p.message}
            for p in svc.settings.slack.suggested_prompts]


def prompts_digest(svc: Services) -> str:
    return hashlib.sha256(json.dumps(prompts(svc), sort_keys=True).encode()).hexdigest()


def messages_tab_opened(svc: Services, user_id: str, channel_id: str) -> None:
    """Agent view: the first visit is greeted and gets the prompts; later visits get the
    prompts again only when the configured ones changed."""
    visit = svc.history.greetings.visit(user_id, prompts_digest(svc))
    if visit is Visit.AGAIN:
        return
    if visit is Visit.FIRST:
        _greet(svc, channel_id, None)
    _set_prompts(svc, channel_id, None)


def thread_started(svc: Services, user_id: str, channel_id: str, thread_ts: str) -> None:
    """Assistant view: each new thread gets the prompts; the person is greeted once."""
    if svc.history.greetings.visit(user_id, prompts_digest(svc)) is Visit.FIRST:
        _greet(svc, channel_id, thread_ts)
    _set_prompts(svc, channel_id, thread_ts)


def _greet(svc: Services, channel_id: str, thread_ts: str | None) -> None:
    try:
        svc.client.chat_postMessage(channel=channel_id, thread_ts=thread_ts,
                                    text=messages.AGENT_GREETING)
    except SlackApiError as exc:
        svc.slack_error("chat.postMessage", exc)


def _set_prompts(svc: Services, channel_id: str, thread_ts: str | None) -> None:
    try:
        svc.client.assistant_threads_setSuggestedPrompts(
            channel_id=channel_id, thread_ts=thread_ts, prompts=prompts(svc),
            title=messages.SUGGESTED_PROMPTS_TITLE)
    except SlackApiError as exc:
        svc.slack_error("assistant.threads.setSuggestedPrompts", exc)
