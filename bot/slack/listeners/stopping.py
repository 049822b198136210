"""The stop button of an agent session (``agent_session_stopped``).

Slack sends the event when the asker presses stop while the thread's session is in
``processing``; it carries ``channel``, ``thread_ts``, ``user`` and the
``streaming_message_ts`` Slack itself stopped. The listener only signals the answer in
flight in that thread (bot.slack.native_stream): the worker preparing it closes the LLM
stream at its next piece, or drops an extractive answer before it is posted, tells the
asker it stopped and moves the session out of ``processing``. The ack waits on nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.slack.services import Services

log = logging.getLogger(__name__)


def register(app: App, svc: Services) -> None:
    @app.event("agent_session_stopped")
    def on_stop(event: dict[str, Any]) -> None:
        channel, thread = event.get("channel") or "", event.get("thread_ts") or ""
        user = event.get("user") or ""
        stopped = svc.native.stop(channel, thread, user) if channel and thread else 0
        log.info("stop pressed in %s/%s by %s: %d answer(s) signalled", channel, thread,
                 event.get("user"), stopped)
