"""Slack mrkdwn that cannot be broken by what it quotes.

Document titles, answers and user input can contain ``<``, ``>`` and ``&``, which Slack
reads as control characters: unescaped they swallow text or forge links and mentions.
Cutting text for Slack's limits must also never split a link or an ``&amp;`` entity.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.slack import limits
from bot.slack.cutting import Cutter

ELLIPSIS = "…"
# Spans a cut must not fall inside: <links|and mentions> and &entities;
_ATOMIC = re.compile(r"<[^<>\n]*>|&(?:amp|lt|gt);")
_SENTENCE_END = re.compile(r"[.!?…](?:\)|\]|>)*\s+")
_CUTTER = Cutter(_ATOMIC, _SENTENCE_END)
_URL_UNSAFE = {"|": "%7C", ">": "%3E", "<": "%3C", " ": "%20", "\n": "%0A", "\t": "%09"}


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup, and nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """``<url|label>``; a URL that is not http(s) (or absurdly long) shows just the label.

    A ``|`` or ``>`` in the URL would end the link early, so they are percent-encoded.
    """
    url = url.strip()
    text = escape(label.strip() or url)
    if not re.match(r"https?://", url, re.IGNORECASE) or len(url) > limits.LINK_URL:
        return text
    safe = "".join(_URL_UNSAFE.get(ch, ch) for ch in url).replace("&", "&amp;")
    return f"<{safe}|{text}>"


def truncate(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending with "…" on a word boundary if cut."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:max(limit, 0)]
    room = limit - len(ELLIPSIS)
    cut = _CUTTER.safe(text, room)
    space = max(text.rfind(" ", 0, cut + 1), text.rfind("\n", 0, cut + 1))
    if space > room // 2:
        cut = _CUTTER.safe(text, space)
    return text[:cut].rstrip() + ELLIPSIS


def quote(text: str) -> str:
    """A Slack block quote of ``text``: escaped, ``>`` before every line."""
    lines = [line.strip() for line in escape(text).strip().splitlines()] or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def split(text: str, limit: int = limits.SECTION_TEXT) -> list[str]:
    """Mrkdwn ``text`` in pieces of at most ``limit`` characters, none empty, links intact."""
    return _CUTTER.split(text, limit)


def date(when: datetime | str | float | int | None, fallback: str = "never") -> str:
    """A time every reader sees in their own timezone: ``<!date^EPOCH^…|ISO>``."""
    if when is None or when == "":
        return escape(fallback)
    moment: datetime
    if isinstance(when, int | float):
        moment = datetime.fromtimestamp(when, UTC)
    elif isinstance(when, str):
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            return escape(truncate(when, 40))
    else:
        moment = when
    if moment.tzinfo is None:  # PolicyBot stores times in UTC
        moment = moment.replace(tzinfo=UTC)
    iso = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{iso}>"
