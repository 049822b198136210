"""The agent view's listeners: a Messages-tab visit or a new assistant thread is greeted
and given the suggested prompts (bot/slack/agent_view.py), off the ack path."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.slack import agent_view
from bot.slack.services import Services
from bot.slack.workers import Busy

log = logging.getLogger(__name__)


def register(app: App, svc: Services) -> None:
    @app.event("assistant_thread_started")
    def on_thread_started(event: dict[str, Any]) -> None:
        thread = event.get("assistant_thread") or {}
        user, channel, ts = (thread.get(k) for k in ("user_id", "channel_id", "thread_ts"))
        if user and channel and ts:
            _submit(agent_view.thread_started, svc, user, channel, ts)


def messages_tab_opened(svc: Services, event: dict[str, Any]) -> None:
    """``app_home_opened`` with ``tab: "messages"`` (routed here by listeners/home.py:
    bolt runs one listener per event)."""
    if event.get("user") and event.get("channel"):
        _submit(agent_view.messages_tab_opened, svc, event["user"], event["channel"])


def _submit(job: Any, svc: Services, *args: str) -> None:
    try:
        svc.notes.submit(job, svc, *args)
    except Busy:
        log.info("no greeting for %s: the bot is busy", args[0])
