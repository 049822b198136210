"""Block Kit building blocks that are within Slack's limits by construction.

Each builder cuts its text to the field's limit and never emits an empty text field, which
Slack rejects with an opaque ``invalid_blocks``; renderers compose these and need not repeat
the checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.slack import limits
from bot.slack.mrkdwn import ELLIPSIS, truncate

Block = dict[str, Any]


def plain(text: str, limit: int = limits.TEXT_OBJECT) -> dict[str, Any]:
    """A plain_text object; emoji shortcodes render, nothing else is markup."""
    return {"type": "plain_text", "text": truncate(text.strip(), limit) or ELLIPSIS,
            "emoji": True}


def mrkdwn(text: str, limit: int = limits.TEXT_OBJECT) -> dict[str, Any]:
    """A mrkdwn text object; ``text`` must already be escaped."""
    return {"type": "mrkdwn", "text": truncate(text.strip(), limit) or ELLIPSIS}


def section(text: str, accessory: dict[str, Any] | None = None) -> Block:
    """A mrkdwn section; ``text`` must already be escaped and is cut to 3000."""
    block: Block = {"type": "section", "text": mrkdwn(text, limits.SECTION_TEXT)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def header(text: str) -> Block:
    """A header; Slack allows plain text only, up to 150 characters."""
    return {"type": "header", "text": plain(text, limits.HEADER_TEXT)}


def divider() -> Block:
    """A rule between groups of blocks."""
    return {"type": "divider"}


def context(texts: Sequence[str]) -> Block:
    """One context block; more than ten texts are folded into the tenth."""
    items = [t for t in (t.strip() for t in texts) if t]
    if len(items) > limits.CONTEXT_ELEMENTS:
        keep = limits.CONTEXT_ELEMENTS - 1
        items = items[:keep] + ["\n".join(items[keep:])]
    return {"type": "context", "elements": [mrkdwn(t) for t in items or [ELLIPSIS]]}


def contexts(texts: Sequence[str], max_blocks: int,
             more: Callable[[int], str]) -> list[Block]:
    """``texts`` in context blocks of ten, at most ``max_blocks``; ``more(n)`` says what's cut."""
    if max_blocks <= 0 or not texts:
        return []
    per = limits.CONTEXT_ELEMENTS
    if len(texts) > max_blocks * per:
        shown = max_blocks * per - 1
        texts = [*texts[:shown], more(len(texts) - shown)]
    return [context(texts[i:i + per]) for i in range(0, len(texts), per)]


def confirm(title: str, text: str, yes: str, no: str) -> dict[str, Any]:
    """A confirm dialog, so one misclick cannot start expensive work."""
    return {"title": plain(title, limits.CONFIRM_TITLE),
            "text": plain(text, limits.CONFIRM_TEXT),
            "confirm": plain(yes, limits.CONFIRM_BUTTON),
            "deny": plain(no, limits.CONFIRM_BUTTON)}


def button(text: str, action_id: str, value: str, *, style: str | None = None,
           confirm_dialog: dict[str, Any] | None = None) -> dict[str, Any]:
    """A button; ``value`` is cut to Slack's limit, so keep ids short rather than rely on it."""
    element: dict[str, Any] = {"type": "button", "text": plain(text, limits.BUTTON_TEXT),
                               "action_id": action_id[:limits.ACTION_ID]}
    if value:
        element["value"] = value[:limits.ACTION_VALUE]
    if style:
        element["style"] = style
    if confirm_dialog:
        element["confirm"] = confirm_dialog
    return element


def actions(elements: Sequence[dict[str, Any]], block_id: str | None = None) -> Block:
    """An actions block; a fixed ``block_id`` lets handlers find it again."""
    block: Block = {"type": "actions", "elements": list(elements)[:limits.ACTIONS_ELEMENTS]}
    if block_id:
        block["block_id"] = block_id[:limits.BLOCK_ID]
    return block


def markdown(text: str) -> Block:
    """A markdown block: ``text`` is standard Markdown (already escaped by
    :mod:`bot.slack.markdown`), at most 12000 characters; Slack renders it itself."""
    return {"type": "markdown", "text": text.strip()[:limits.MARKDOWN_TEXT] or ELLIPSIS}


def feedback_buttons(action_id: str, positive: tuple[str, str, str],
                     negative: tuple[str, str, str]) -> dict[str, Any]:
    """Slack's own 👍/👎 pair; each button is ``(text, accessibility label, value)``."""
    def one(text: str, label: str, value: str) -> dict[str, Any]:
        button: dict[str, Any] = {"text": plain(text, limits.BUTTON_TEXT),
                                  "value": value[:limits.ACTION_VALUE]}
        if label.strip():
            button["accessibility_label"] = truncate(label.strip(), limits.ACCESSIBILITY_LABEL)
        return button

    return {"type": "feedback_buttons", "action_id": action_id[:limits.ACTION_ID],
            "positive_button": one(*positive), "negative_button": one(*negative)}


def context_actions(elements: Sequence[dict[str, Any]]) -> Block:
    """A context_actions block (feedback buttons, icon buttons), at most 5 elements. No
    block_id: Slack wants a new one on every update of a message and makes one itself."""
    return {"type": "context_actions",
            "elements": list(elements)[:limits.CONTEXT_ACTIONS_ELEMENTS]}
