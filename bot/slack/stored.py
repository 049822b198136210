"""Stored answers back as ``Answer`` objects, for ``/policy cite`` and sharing."""

from __future__ import annotations

import re

from bot.history import AnswerRecord
from model.answer import Answer, Citation

LINK = re.compile(r"https?://[^/\s>]+/archives/([A-Z0-9]+)/p(\d{10})(\d{6})"
                  r"(?:\?[^\s>]*?thread_ts=(\d+\.\d+))?")


def as_answer(record: AnswerRecord) -> Answer:
    citations = [Citation.from_stored(c) for c in record.citations]
    return Answer(question=record.question, text=record.text, citations=citations,
                  abstained=record.abstained, grounded=record.grounded,
                  generator=record.generator)


def parse_link(text: str) -> tuple[str, str] | None:
    """(channel, message ts) from a Slack message link, as Slack formats it in text."""
    m = LINK.search(text)
    if not m:
        return None
    return m.group(1), f"{m.group(2)}.{m.group(3)}"


def readable_by(record: AnswerRecord, user_id: str) -> bool:
    """Public answers are for anyone in the channel; DM and ephemeral ones for the asker."""
    return record.visibility == "public" or record.user_id == user_id
