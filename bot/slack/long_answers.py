"""Posting an answer that takes more than one message, without losing any of it.

:func:`bot.slack.blocks.answer_messages` already splits an answer to fit PolicyBot's
per-message budget; Slack's own limit on a message's blocks is undocumented
(``msg_blocks_too_long``) and ``msg_too_long`` can still come back. A refused message is
then split in two (:func:`bot.slack.blocks.halve`) and sent again, so the reader gets
the whole answer over a few messages in the thread rather than nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from slack_sdk.errors import SlackApiError

from bot.slack.blocks import SlackMessage, halve

log = logging.getLogger(__name__)

TOO_LONG = frozenset({"msg_too_long", "msg_blocks_too_long"})
MAX_PARTS = 12  # a message split this often is not too long: something else is wrong


def too_long(exc: SlackApiError) -> bool:
    """Whether Slack refused a message for its size."""
    response = getattr(exc, "response", None)
    error = response.get("error") if response is not None else None
    return error in TOO_LONG


def send_all(messages: Sequence[SlackMessage], first: Callable[[SlackMessage], None],
             rest: Callable[[SlackMessage], None]) -> int:
    """Send ``messages`` in order: the first with ``first`` (e.g. ``chat.update`` of the
    placeholder), the others with ``rest`` (e.g. ``chat.postMessage`` in the thread). A
    message refused as too long is halved and its halves sent in its place; any other
    error propagates. Returns how many messages went out."""
    queue = list(messages)
    sent = 0
    while queue:
        message = queue.pop(0)
        try:
            (first if sent == 0 else rest)(message)
        except SlackApiError as exc:
            parts = halve(message) if too_long(exc) and len(queue) + sent < MAX_PARTS else None
            if parts is None:
                raise
            log.info("Slack refused a message as too long; sending it in %d parts",
                     len(parts))
            queue[:0] = parts
            continue
        sent += 1
    return sent
