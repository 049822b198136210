"""How a citation reads in Slack, and ``/policy cite``: the verbatim passages behind an answer.

Showing the exact quoted span, with document version and date, lets a reader check the
answer against the policy itself instead of trusting PolicyBot's paraphrase.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.slack import kit, limits, messages
from bot.slack.kit import Block
from bot.slack.mrkdwn import escape, link, quote, truncate
from indexer.dating import SYNCED, describe
from indexer.labels import citation_label
from model.answer import Answer, Citation

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
QUOTE_CHARS = 2400  # leaves room in a 3000-character section for title and details
TITLE_CHARS = 200


def date_label(doc_date: str) -> str:
    """The day a document last changed; the time of day adds nothing for a reader."""
    doc_date = doc_date.strip()
    return doc_date[:10] if _ISO_DATE.match(doc_date) else truncate(doc_date, 32)


def title_link(c: Citation) -> str:
    """``<url|Title — Section>``, or the escaped text when there is no usable URL. A
    heading path that opens with the title drops it: "Annual leave — Carry-over", not
    "Annual leave — Annual leave › Carry-over"."""
    title = c.title.strip() or c.path.strip() or c.source.strip() or "Untitled document"
    label = citation_label(title, c.section)
    return link(c.url, truncate(label, TITLE_CHARS))


def details(c: Citation) -> str:
    """`` · commit 1a2b3c4 · committed 2024-05-01``, `` · updated 2024-05-01`` (the
    document's own date), `` · synced 2026-11-30``: what a reader can look up, in the
    one wording the CLI and stale alerts use too (:func:`indexer.dating.describe`). An
    internal version (an mtime, an ETag) is never shown."""
    day = date_label(c.doc_date) if c.doc_date.strip() else ""
    text = describe(truncate(c.version_label.strip(), limits.VERSION_CHARS), day,
                    c.dated_by or SYNCED)  # an answer stored before dates were kept
    return f" · {escape(text)}" if text else ""


def source_line(c: Citation) -> str:
    """``[n] <url|Title — Section> · v… · updated …`` for the Sources list."""
    return f"[{c.n}] {title_link(c)}{details(c)}"


def related_lines(citations: Sequence[Citation]) -> list[str]:
    """Titles and sections only: related documents are suggestions, never quoted as fact."""
    return [f"• {title_link(c)}" for c in citations]


MAX_QUOTE_LINKS = 5  # each link adds its URL to a section of at most 3000 characters
_MAILTO = re.compile(r"mailto:[^\s<>|&]+@[^\s<>|&]+", re.IGNORECASE)


def _any_link(url: str, label: str) -> str:
    """``<url|label>`` for an http(s) or mailto URL; the escaped label for anything else
    (``javascript:`` and the like are never linked)."""
    if _MAILTO.fullmatch(url.strip()) and len(url) <= limits.LINK_URL:
        return f"<{url.strip()}|{escape(label)}>"
    return link(url, label)


def quote_with_links(text: str, links: Sequence[tuple[str, str]]) -> str:
    """A block quote of ``text`` whose link texts are links again (first occurrence each,
    never inside another link, only while the quote stays within ``QUOTE_CHARS``): the
    quote stays the verbatim source text."""
    body = quote(truncate(" ".join(text.split()), QUOTE_CHARS))
    for label, url in list(links)[:MAX_QUOTE_LINKS]:
        plain, markup = escape(label), _any_link(url, label)
        if not plain or markup == plain or len(body) + len(markup) - len(plain) > QUOTE_CHARS:
            continue  # not a link, or no room left in the section for its URL
        at = body.find(plain)
        while at >= 0 and body.rfind("<", 0, at) > body.rfind(">", 0, at):
            at = body.find(plain, at + 1)  # inside a link made for an earlier label
        if at >= 0:
            body = body[:at] + markup + body[at + len(plain):]
    return body


def evidence_section(c: Citation) -> Block:
    """A passage shown as evidence: its link and the verbatim quote, with no ``[n]``
    marker, because it backs no claim."""
    text = f"{title_link(c)}{details(c)}"
    if c.quote.strip():
        text += "\n" + quote_with_links(c.quote, c.links)
    return kit.section(text)


def _citation_section(c: Citation) -> Block:
    text = f"*[{c.n}]* {title_link(c)}{details(c)}"
    if c.quote.strip():
        text += "\n" + quote_with_links(c.quote, c.links)
    return kit.section(text)


def cite_blocks(answer: Answer) -> list[Block]:
    """Each citation with its link, version, date and verbatim quote; ≤50 blocks."""
    if answer.abstained or not answer.grounded or not answer.citations:
        return [kit.section(messages.NOTHING_TO_CITE)]
    blocks: list[Block] = []
    if answer.question.strip():
        blocks.append(kit.context([f"_{escape(truncate(answer.question.strip(), 300))}_"]))
    tail = [kit.context([messages.omitted_note(len(answer.unsupported))])] \
        if answer.unsupported else []
    room = limits.MESSAGE_BLOCKS - len(blocks) - len(tail)
    citations = answer.citations
    if len(citations) > room:
        shown = room - 1
        blocks += [_citation_section(c) for c in citations[:shown]]
        blocks.append(kit.context([messages.more(len(citations) - shown)]))
    else:
        blocks += [_citation_section(c) for c in citations]
    return blocks + tail
