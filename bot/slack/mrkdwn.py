"""Slack mrkdwn that cannot be broken by what it quotes.

Document titles, answers and user input can contain ``<``, ``>`` and ``&``, which Slack
reads as control characters: unescaped they swallow text or forge links and mentions.
Cutting text for Slack's limits must also never split a link or an ``&amp;`` entity.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.slack import limits

ELLIPSIS = "…"
# Spans a cut must not fall inside: <links|and mentions> and &entities;
_ATOMIC = re.compile(r"<[^<>\n]*>|&(?:amp|lt|gt);")
_SENTENCE_END = re.compile(r"[.!?…](?:\)|\]|>)*\s+")
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


def _safe_cut(text: str, pos: int) -> int:
    """``pos`` moved back to the start of any link or entity it would split."""
    for m in _ATOMIC.finditer(text):
        if m.start() >= pos:
            break
        if m.start() < pos < m.end():
            return m.start()
    return pos


def truncate(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending with "…" on a word boundary if cut."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:max(limit, 0)]
    room = limit - len(ELLIPSIS)
    cut = _safe_cut(text, room)
    space = max(text.rfind(" ", 0, cut + 1), text.rfind("\n", 0, cut + 1))
    if space > room // 2:
        cut = _safe_cut(text, space)
    return text[:cut].rstrip() + ELLIPSIS


def quote(text: str) -> str:
    """A Slack block quote of ``text``: escaped, ``>`` before every line."""
    lines = [line.strip() for line in escape(text).strip().splitlines()] or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def _best_cut(text: str, limit: int) -> int:
    """Where to split ``text`` to keep at most ``limit`` characters: paragraph, sentence, word."""
    window = text[:limit + 1]
    candidates = [window.rfind("\n\n")]
    candidates.append(max((m.end() for m in _SENTENCE_END.finditer(window)
                           if m.end() <= limit), default=-1))
    candidates.append(max(window.rfind(" "), window.rfind("\n")))
    for pos in candidates:
        pos = _safe_cut(text, pos) if pos > 0 else pos
        if pos > limit // 3:
            return pos
    pos = _safe_cut(text, limit)
    return pos if pos > 0 else limit


def split(text: str, limit: int = limits.SECTION_TEXT) -> list[str]:
    """Mrkdwn ``text`` in pieces of at most ``limit`` characters, none empty, links intact."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _best_cut(rest, limit)
        piece = rest[:cut].strip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


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
