"""Answer text as standard Markdown, for Slack's ``markdown`` block and streamed text.

Why Markdown and not mrkdwn for the answer itself: the ``markdown`` block (and the
``markdown_text`` of ``chat.appendStream``) is what Slack renders for AI apps, so a
streamed answer and a posted one look the same; it renders the list lines that carry the
handbook's table rows (``- Entity: Canada; Allowance: 20 days``) as a real bulleted list,
where mrkdwn shows the hyphens; and ``[n]`` markers stay links (``[\\[1\\]](url)``, a
link whose text is ``[1]``). Tables proper are not supported by the block (Slack's docs),
which is why the indexer already flattens table rows into such lines.

Everything that comes from a document is escaped: Slack's docs define backslash escapes
for the block, so every ASCII punctuation character Markdown could read as markup is
escaped, ``<``, ``>`` and ``&`` included (no HTML, entity or Slack ``<!channel>`` token
can come out of a passage), and only line-leading list markers are kept. Cutting text to
the block's limit never splits a link or an escape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.slack import limits
from bot.slack.cutting import Cutter
from model.answer import Citation
from model.citations import MARKER

# Markup characters escaped wherever they appear: emphasis, code, strikethrough, links,
# HTML/autolinks/Slack tokens, entities, headings, table pipes, images.
_SPECIAL = re.compile(r"([\\`*_~\[\]<>&#|!])")
_BULLET = re.compile(r"^[-*+•]\s+(.*)$")
_NUMBERED = re.compile(r"^(\d{1,3})[.)]\s+(.*)$")
_LEADING = re.compile(r"^(\d+)([.)])|^([-+=])")  # would start a list, rule or heading
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "\\": "%5C",
               "\n": "%0A", "\t": "%09", "[": "%5B", "]": "%5D"}
# Spans a cut must not fall inside: [links](url) and backslash escapes.
_ATOMIC = re.compile(r"\[(?:\\.|[^\]\\\n])*\]\([^()\s]*\)|\\.")
_MAILTO = re.compile(r"mailto:[^\s<>()\[\]\\|&]+@[^\s<>()\[\]\\|&]+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…](?:\))?\s+")
_CUTTER = Cutter(_ATOMIC, _SENTENCE_END, lines_first=True)
ELLIPSIS = "…"


def escape(text: str) -> str:
    """``text`` shown literally: every Markdown markup character backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def link(url: str, label: str) -> str:
    """``[label](url)``; a URL that is not http(s) (or absurdly long) shows just the label."""
    url = url.strip()
    text = escape(label.strip() or url)
    if not re.match(r"https?://", url, re.IGNORECASE) or len(url) > limits.LINK_URL:
        return text
    return f"[{text}]({''.join(_URL_UNSAFE.get(ch, ch) for ch in url)})"


def passage_link(url: str, label: str) -> str:
    """A link found in a passage's text: ``[label](url)`` for http(s) (as :func:`link`)
    and mailto URLs; the escaped label for anything else."""
    url = url.strip()
    if _MAILTO.fullmatch(url) and len(url) <= limits.LINK_URL:
        return f"[{escape(label.strip() or url)}]({url})"
    return link(url, label)


def _with_links(text: str, links: list[tuple[str, str]], used: set[str]) -> str:
    """``text`` escaped, the first occurrence of each link text in ``links`` (not yet in
    ``used``) a link: quoted policy text keeps the links it has in the handbook."""
    spans: list[tuple[int, int, str]] = []
    for label, url in links:
        if label in used:
            continue
        at = text.find(label)
        while at >= 0 and any(a < at + len(label) and at < b for a, b, _ in spans):
            at = text.find(label, at + 1)  # overlaps a link made for an earlier label
        if at >= 0:
            spans.append((at, at + len(label), passage_link(url, label)))
            used.add(label)
    out, last = [], 0
    for start, end, markup in sorted(spans):
        out += [escape(text[last:start]), markup]
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def linked(text: str, citations: Sequence[Citation]) -> str:
    """One line of answer text, escaped, with ``[n]`` markers as links to the passage;
    numbers no citation carries stay plain (escaped) text. Text the line quotes from a
    passage it cites keeps that passage's links (``Citation.links``, http(s) and mailto
    only), each once."""
    urls = {c.n: c.url for c in citations}
    cited = {int(x) for m in MARKER.finditer(text)
             for x in re.split(r"\s*[,;]\s*", m.group(1))}
    links = [(label, url) for c in citations if c.n in cited for label, url in c.links
             if label.strip()]
    used: set[str] = set()
    out: list[str] = []
    last = 0
    for m in MARKER.finditer(text):
        out.append(_with_links(text[last:m.start()], links, used))
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        out.append("".join(link(urls[n], f"[{n}]") if n in urls else escape(f"[{n}]")
                           for n in numbers))
        last = m.end()
    out.append(_with_links(text[last:], links, used))
    return "".join(out)


def _line(line: str, citations: Sequence[Citation]) -> tuple[str, str]:
    """(kind, Markdown) for one line: a bullet, a numbered item or a paragraph."""
    if m := _BULLET.match(line):
        return "bullet", f"- {linked(m.group(1), citations)}"
    if m := _NUMBERED.match(line):
        return "numbered", f"{m.group(1)}. {linked(m.group(2), citations)}"
    body = linked(line, citations)
    lead = _LEADING.match(body)
    if lead:  # "2026. was…", "-5 days", "===": literal, not a list, rule or heading
        cut = lead.end()
        body = f"{body[:cut - 1]}\\{body[cut - 1:]}"
    return "paragraph", body


def render(text: str, citations: Sequence[Citation]) -> str:
    """Answer text as Markdown: each line keeps its own line (lines of one list stay one
    list; other lines become paragraphs, since Markdown would run them together)."""
    out: list[str] = []
    previous = ""
    for raw in text.splitlines():
        raw = raw.strip()
        if not raw:
            previous = ""
            continue
        kind, md = _line(raw, citations)
        if out:
            out.append("\n" if kind == previous and kind != "paragraph" else "\n\n")
        out.append(md)
        previous = kind
    return "".join(out)


def split(md: str, limit: int = limits.MARKDOWN_TEXT) -> list[str]:
    """Markdown in pieces of at most ``limit`` characters, none empty, links intact; a
    piece ends at a paragraph or list item where one is near, so each reads on its own."""
    return _CUTTER.split(md, limit)


def truncate(md: str, limit: int) -> str:
    """``md`` in at most ``limit`` characters, ending with "…" if it was cut."""
    if len(md) <= limit:
        return md
    room = max(limit - len(ELLIPSIS) - 1, 1)
    return f"{split(md, room)[0]} {ELLIPSIS}"[:limit]
