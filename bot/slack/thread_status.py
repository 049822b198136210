"""What the thread shows while PolicyBot works: a status line with rotating loading
messages, and an agent session whose stop button lets the asker cancel.

Two Slack methods, because each does one half (checked against slack_sdk 3.48 and
docs.slack.dev):

- ``assistant.threads.setStatus`` (``chat:write``; since March 2026 also in channel
  threads) shows "PolicyBot is looking this up…" and rotates ``loading_messages`` (at most
  10); an empty status clears it.
- ``agents.sessions.setStatus`` (``chat:write``, and only for apps declared as agents)
  puts the thread's session in ``processing``, which is what shows the stop button; the
  answer's ``chat.stopStream(session_status="active")`` moves it out again, or a second
  ``setStatus`` does where no stream ended it. A workspace where the app is not an agent
  refuses it: that is remembered (per process) and not asked again.

Status is decoration: every call goes through the no-retry client with a short timeout,
and no failure here ever holds up or blocks an answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.slack import messages

if TYPE_CHECKING:
    from bot.ask import Question
    from bot.slack.native_stream import NativeState
    from bot.slack.services import Services

log = logging.getLogger(__name__)

PROCESSING, ACTIVE = "processing", "active"  # agents.sessions session_status values


def _error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("error") or "") if response is not None else type(exc).__name__


def show_working(svc: Services, state: NativeState, q: Question, thread: str) -> bool:
    """Set the loading status and open the session in ``processing``; True when the
    session was opened (so its stop button shows and it must be moved out later)."""
    try:
        state.client.assistant_threads_setStatus(
            channel_id=q.channel_id, thread_ts=thread, status=messages.STATUS_WORKING,
            loading_messages=list(messages.LOADING_MESSAGES))
    except Exception as exc:  # noqa: BLE001 - a status never blocks an answer
        svc.slack_error("assistant.threads.setStatus", exc)
    if not state.sessions_allowed(q.team_id):
        return False
    try:
        state.client.agents_sessions_setStatus(
            channel_id=q.channel_id, thread_ts=thread, status=PROCESSING,
            title=messages.session_title(q.text), initiator_user_id=q.user_id or None)
    except SlackApiError as exc:
        svc.slack_error("agents.sessions.setStatus", exc)
        if exc.response.status_code != 429:
            state.no_sessions(q.team_id, _error(exc))
        return False
    except Exception as exc:  # noqa: BLE001 - network trouble: no stop button this time
        svc.slack_error("agents.sessions.setStatus", exc)
        return False
    return True


def clear(svc: Services, state: NativeState, q: Question, thread: str,
          session_open: bool) -> None:
    """Clear the loading status; move a session still in ``processing`` to ``active``."""
    try:
        state.client.assistant_threads_setStatus(channel_id=q.channel_id, thread_ts=thread,
                                                 status="")
    except Exception as exc:  # noqa: BLE001 - Slack also drops it after two minutes
        svc.slack_error("assistant.threads.setStatus", exc)
    if session_open:
        try:
            state.client.agents_sessions_setStatus(channel_id=q.channel_id, thread_ts=thread,
                                                   status=ACTIVE)
        except Exception as exc:  # noqa: BLE001
            svc.slack_error("agents.sessions.setStatus", exc)
