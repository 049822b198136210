"""Turning a Slack message into a question: who, where, what, and whether to answer."""

from __future__ import annotations

import html
import re
from typing import Any

MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
IGNORED_SUBTYPES = {"message_changed", "message_deleted", "message_replied",
                    "channel_join", "channel_leave", "channel_topic", "channel_purpose",
                    "channel_name", "group_join", "group_leave", "pinned_item",
                    "unpinned_item", "thread_broadcast_deleted", "tombstone"}


def question_text(text: str, bot_user_id: str) -> str:
    """The message without the bot's mention, with Slack's escaping undone."""
    text = MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), text or "")
    return html.unescape(" ".join(text.split()))


def mentions(text: str, user_id: str) -> bool:
    return any(m.group(1) == user_id for m in MENTION.finditer(text or ""))


def from_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("subtype") == "bot_message"
                or event.get("bot_profile"))


def skip_reason(event: dict[str, Any], respond_to_bots: bool) -> str | None:
    """Why this message gets no answer (edits, deletions, joins, bots), or None."""
    subtype = event.get("subtype")
    if subtype in IGNORED_SUBTYPES or event.get("hidden") or "edited" in event:
        return f"subtype {subtype or 'edited'}"
    if from_bot(event) and not respond_to_bots:
        return "message from a bot"
    if subtype not in (None, "bot_message", "file_share", "thread_broadcast"):
        return f"subtype {subtype}"
    return None


def message_key(event: dict[str, Any]) -> str | None:
    msg = event.get("client_msg_id")
    if msg:
        return f"msg:{event.get('channel')}:{msg}"
    if event.get("ts"):
        return f"msg:{event.get('channel')}:{event['ts']}"
    return None
