"""An ``Answer`` as a Slack message: linked markers, sources, notes and feedback buttons.

Only sentences the cited passages back are shown as fact; everything else is said to be
left out, so a reader never mistakes an unsupported claim for policy. Whatever the answer's
size, the result stays within Slack's limits, because Slack rejects the whole message
otherwise and the user would see nothing.
"""

from __future__ import annotations

import re

from bot.slack import kit, limits, messages
from bot.slack.blocks_cite import evidence_section, related_lines, source_line
from bot.slack.kit import Block
from bot.slack.mrkdwn import escape, link, split, truncate
from model.answer import EVIDENCE, Answer, Citation
from model.citations import MARKER, with_markers

STREAM_SECTIONS = 5  # a partial answer longer than this is cut; the final message replaces it


def shown_text(answer: Answer) -> str:
    """The answer without sentences its cited passages don't back ('' when none are left)."""
    if not answer.unsupported:
        return answer.text.strip()
    kept = [s for s in answer.sentences if s.supported and s.text.strip()]
    return " ".join(with_markers(s.text.strip(), s.citations) for s in kept)


def _states_fact(answer: Answer) -> bool:
    return not answer.abstained and answer.grounded and bool(shown_text(answer))


def linkify(escaped: str, citations: list[Citation]) -> str:
    """``[n]`` markers as links to the cited passage; unknown numbers stay plain text."""
    urls = {c.n: c.url for c in citations}

    def one(m: re.Match[str]) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        return "".join(link(urls[n], f"[{n}]") if n in urls else f"[{n}]" for n in numbers)

    return MARKER.sub(one, escaped)


def _fit(pieces: list[str], room: int) -> list[Block]:
    """Sections for ``pieces``, at most ``room`` of them, the last marked as cut if needed."""
    if room <= 0 or not pieces:
        return []
    if len(pieces) > room:
        pieces = pieces[:room]
        pieces[-1] = truncate(pieces[-1], limits.SECTION_TEXT - 2) + " …"
    return [kit.section(p) for p in pieces]


def _body(answer: Answer, room: int) -> list[Block]:
    """The answer itself, or why there is none plus what might be related."""
    if _states_fact(answer):
        note = [kit.context([messages.omitted_note(len(answer.unsupported))])] \
            if answer.unsupported else []
        lines = [source_line(c) for c in answer.citations]
        source_blocks = -(-(len(lines) + 1) // limits.CONTEXT_ELEMENTS) if lines else 0
        text_room = max((room - len(note)) // 2, room - len(note) - source_blocks)
        text = _fit(split(linkify(escape(shown_text(answer)), answer.citations)), text_room)
        sources = kit.contexts([messages.SOURCES_HEADING, *lines],
                               room - len(text) - len(note), messages.more)
        return text + note + sources
    if answer.outcome == EVIDENCE and answer.evidence:
        shown = answer.evidence[: max(0, room - 1)]
        return [kit.section(messages.EVIDENCE_LEAD)] + [evidence_section(c) for c in shown]
    lead = messages.ABSTAIN if answer.abstained else messages.UNGROUNDED
    related = answer.related if answer.abstained else (answer.related or answer.citations)
    blocks = [kit.section(lead)]
    if related:
        listing = "\n".join([messages.RELATED_HEADING, *related_lines(related)])
        blocks += _fit(split(listing), room - 1)
    return blocks


def answer_blocks(answer: Answer, *, answer_id: str, share: bool = False,
                  feedback: bool = True) -> list[Block]:
    """The message for ``answer``: ≤50 blocks, no empty text, every field within limits."""
    tail: list[Block] = []
    notes = [escape(truncate(n.strip(), 1000)) for n in answer.notes if n.strip()]
    if notes:
        tail.append(kit.context(notes))
    buttons = []
    if feedback:
        buttons += [kit.button(messages.FEEDBACK_UP, "feedback_up", answer_id),
                    kit.button(messages.FEEDBACK_DOWN, "feedback_down", answer_id)]
    if share:
        buttons.append(kit.button(messages.SHARE_BUTTON, "share_answer", answer_id,
                                  style="primary"))
    if buttons:
        tail.append(kit.actions(buttons, block_id="feedback"))
    return _body(answer, limits.MESSAGE_BLOCKS - len(tail)) + tail


def answer_text(answer: Answer) -> str:
    """The plain fallback for notifications and screen readers: no links, no markup."""
    if answer.outcome == EVIDENCE and answer.evidence:
        text = messages.EVIDENCE_TEXT
    elif not _states_fact(answer):
        text = messages.ABSTAIN if answer.abstained else messages.UNGROUNDED
    else:
        text = " ".join(MARKER.sub("", shown_text(answer)).split())
        text = re.sub(r"\s+([.!?,;:])", r"\1", text)
        text = escape(text)
    return truncate(text, limits.NOTIFICATION_TEXT)


def working_blocks(text: str = messages.WORKING) -> list[Block]:
    """The placeholder posted at once, so the user knows PolicyBot is on it."""
    return [kit.context([f":mag: {text}"])]


def streaming_blocks(partial: str) -> list[Block]:
    """Text as it is generated: only finished sentences that passed the answer's checks
    (model.screen.CheckedStream), marked as still being written until the final answer."""
    pieces = split(escape(partial))
    if not pieces:
        return working_blocks()
    return _fit(pieces, STREAM_SECTIONS) + [kit.context([messages.WRITING])]
