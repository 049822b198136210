"""An ``Answer`` as Slack messages: linked markers, sources, notes and native feedback.

Only sentences the cited passages back are shown as fact; everything else is said to be
left out, so a reader never mistakes an unsupported claim for policy. Whatever the answer's
size, every message stays within Slack's limits, because Slack rejects the whole message
otherwise and the user would see nothing; an answer too long for one message is split over
several (:func:`answer_messages`) instead of being cut.

Format (issue 12, decided on payloads built from real ``policybot ask --json`` answers and
checked against the Block Kit reference and slack_sdk's models): the answer text is one
``markdown`` block, not mrkdwn sections. Both keep ``[n]`` as links to the passage; the
markdown block also renders the list lines that carry table rows as a bulleted list (mrkdwn
shows the hyphens), renders exactly what ``chat.appendStream`` streams (standard Markdown),
so a streamed and a posted answer look alike, and takes 12000 characters where a section
takes 3000. Neither renders tables (the markdown block's docs say so), which is why table
rows arrive as ``Key: value; …`` lines. Sources stay a mrkdwn context list as before: Slack
defines no citation presentation for message text (the SDK's ``url`` source elements
belong to task cards of a plan, not to answers). Evidence and "might be related" stay
mrkdwn sections, since they quote passages with mrkdwn block quotes.
"""

from __future__ import annotations

import re
from typing import Any

from bot.slack import kit, limits, markdown, messages
from bot.slack.blocks_cite import evidence_section, related_lines, source_line
from bot.slack.blocks_feedback import FEEDBACK_ACTION, feedback_value
from bot.slack.kit import Block
from bot.slack.mrkdwn import escape, split, truncate
from model.answer import EVIDENCE, Answer
from model.citations import MARKER, with_markers

STREAM_SECTIONS = 5  # a partial answer longer than this is cut; the final message replaces it
MAX_MESSAGES = 10  # an answer's text over more messages than this (~100k characters) is cut
SlackMessage = dict[str, Any]  # {"text": fallback, "blocks": [...]}: one chat.postMessage


def shown_text(answer: Answer) -> str:
    """The answer without sentences its cited passages don't back ('' when none are left)."""
    if not answer.unsupported:
        return answer.text.strip()
    kept = [s for s in answer.sentences if s.supported and s.text.strip()]
    return " ".join(with_markers(s.text.strip(), s.citations) for s in kept)


def states_fact(answer: Answer) -> bool:
    return not answer.abstained and answer.grounded and bool(shown_text(answer))


def _fit(pieces: list[str], room: int) -> list[Block]:
    """Sections for ``pieces``, at most ``room`` of them, the last marked as cut if needed."""
    if room <= 0 or not pieces:
        return []
    if len(pieces) > room:
        pieces = pieces[:room]
        pieces[-1] = truncate(pieces[-1], limits.SECTION_TEXT - 2) + " …"
    return [kit.section(p) for p in pieces]


def _chars(node: Any) -> int:
    """Characters of text in a block (or blocks): what Slack's per-message limit counts."""
    if isinstance(node, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else _chars(v)
                   for k, v in node.items())
    if isinstance(node, list):
        return sum(_chars(v) for v in node)
    return 0


def feedback_block(answer_id: str) -> Block:
    """Slack's native 👍/👎 (a context_actions block with feedback_buttons); the clicked
    button's value names the vote and the answer (bot.slack.blocks_feedback)."""
    return kit.context_actions([kit.feedback_buttons(
        FEEDBACK_ACTION,
        (messages.FEEDBACK_POSITIVE, messages.FEEDBACK_POSITIVE_LABEL,
         feedback_value("up", answer_id)),
        (messages.FEEDBACK_NEGATIVE, messages.FEEDBACK_NEGATIVE_LABEL,
         feedback_value("down", answer_id)))])


def _tail(answer: Answer, answer_id: str, share: bool, feedback: bool) -> list[Block]:
    """Notes, then 👍/👎, then Share: what closes the (last message of an) answer."""
    tail: list[Block] = []
    notes = [escape(truncate(n.strip(), 1000)) for n in answer.notes if n.strip()]
    if notes:
        tail.append(kit.context(notes))
    if feedback:
        tail.append(feedback_block(answer_id))
    if share:
        tail.append(kit.actions([kit.button(messages.SHARE_BUTTON, "share_answer", answer_id,
                                            style="primary")], block_id="share"))
    return tail


def answer_markdown(answer: Answer) -> str:
    """The shown answer text as standard Markdown with ``[n]`` linked ('' when it states
    no fact): for a markdown block, or for ``markdown_text`` when streaming."""
    return markdown.render(shown_text(answer), answer.citations) if states_fact(answer) else ""


def _sources(answer: Answer, max_blocks: int) -> list[Block]:
    note = [kit.context([messages.omitted_note(len(answer.unsupported))])] \
        if answer.unsupported else []
    lines = [source_line(c) for c in answer.citations]
    return note + kit.contexts([messages.SOURCES_HEADING, *lines], max_blocks - len(note),
                               messages.more)


def _other_body(answer: Answer, room: int) -> list[Block]:
    """Why there is no answer, plus the closest passages or what might be related."""
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


def closing_blocks(message: SlackMessage) -> list[Block]:
    """What follows a streamed answer's text at the end of the stream: the blocks of the
    answer's one message (the first of :func:`answer_messages`, which built them) after
    its text, i.e. the omitted-claims note, the Sources, notes and 👍/👎; the text itself
    was streamed as :func:`answer_markdown`. An answer that states no fact streams no
    text, so for it this is the whole message: why there is none, and the closest
    passages or related documents. Taken from the message rather than built again, so
    the Sources are rendered once and the stream ends with exactly what a posted answer
    shows. Within one message's limits, since ``message`` is (room for the streamed text
    is the caller's to check: ``answer_messages`` gives more than one message for text
    that does not fit)."""
    return [b for b in message["blocks"] if b.get("type") != "markdown"]


def _pack(body: list[Block], tail: list[Block], budget: int) -> list[list[Block]]:
    """Blocks in order over as few messages as fit: ≤50 blocks and ≤ ``budget``
    characters each; the tail (notes, 👍/👎, Share) stays together at the very end."""
    out: list[list[Block]] = [[]]
    size = 0
    for block in body:
        chars = _chars(block)
        if out[-1] and (len(out[-1]) >= limits.MESSAGE_BLOCKS or size + chars > budget):
            out.append([])
            size = 0
        out[-1].append(block)
        size += chars
    if tail and out[-1] and (len(out[-1]) + len(tail) > limits.MESSAGE_BLOCKS
                             or size + _chars(tail) > budget):
        out.append([])
    out[-1].extend(tail)
    return [m for m in out if m]


def answer_messages(answer: Answer, *, answer_id: str, share: bool = False,
                    feedback: bool = True, budget: int = limits.MESSAGE_TEXT_BUDGET,
                    max_messages: int = MAX_MESSAGES) -> list[SlackMessage]:
    """The whole answer as one or more messages (``{"text", "blocks"}``), in order: an
    answer too long for one message is split (the text at a paragraph, list item or
    sentence) rather than cut, so nothing is lost; the Sources and 👍/👎 close the last.
    Post the first where the answer goes and the rest after it in the same thread
    (bot.slack.long_answers.send_all does, re-splitting on ``msg_too_long``). Text that
    would need more than ``max_messages`` messages is cut with "…" there."""
    tail = _tail(answer, answer_id, share, feedback)
    if states_fact(answer):
        text_room = max(min(budget, limits.MARKDOWN_TEXT) - 1, 200)
        pieces = markdown.split(answer_markdown(answer), text_room)
        if len(pieces) > max(max_messages, 1):  # beyond any real answer: cut, not flood
            pieces = pieces[:max(max_messages, 1)]
            cut = markdown.truncate(pieces[-1], text_room - 2)
            pieces[-1] = cut if cut.endswith(markdown.ELLIPSIS) else f"{cut} {markdown.ELLIPSIS}"
        body = [kit.markdown(p) for p in pieces]
        body += _sources(answer, limits.MESSAGE_BLOCKS - len(tail))
    else:
        body = _other_body(answer, limits.MESSAGE_BLOCKS - len(tail))
    packed = _pack(body, tail, budget)
    first = answer_text(answer)
    return [{"text": first if i == 0 else messages.ANSWER_CONTINUED, "blocks": blocks}
            for i, blocks in enumerate(packed)]


def answer_blocks(answer: Answer, *, answer_id: str, share: bool = False,
                  feedback: bool = True) -> list[Block]:
    """The answer as ONE message: ≤50 blocks, no empty text, every field and the whole
    within limits. Text that does not fit is cut with "…"; use :func:`answer_messages`
    to show all of it over several messages."""
    tail = _tail(answer, answer_id, share, feedback)
    budget = limits.MESSAGE_TEXT_BUDGET
    if not states_fact(answer):
        body = _other_body(answer, limits.MESSAGE_BLOCKS - len(tail))
        while len(body) > 1 and _chars(body) + _chars(tail) > budget:
            body.pop()
        return body + tail
    floor = 2 if answer.unsupported else 1
    most = limits.MESSAGE_BLOCKS - len(tail) - 1
    sources = _sources(answer, most)
    while most > floor and _chars(sources) + _chars(tail) > budget // 2:
        most -= 1  # a source list too long to leave room for the answer is cut, with a count
        sources = _sources(answer, most)
    room = min(budget - _chars(sources) - _chars(tail), limits.MARKDOWN_TEXT)
    text = markdown.truncate(answer_markdown(answer), max(room, 200))
    return [kit.markdown(text)] + sources + tail


def halve(message: SlackMessage) -> list[SlackMessage] | None:
    """A message Slack refused as too long, as two smaller ones (blocks split in two, or
    one markdown block's text split in two); None when it cannot get smaller."""
    blocks = message["blocks"]
    if len(blocks) > 1:
        half, size, total = 0, 0, _chars(blocks)
        while half < len(blocks) - 1 and size + _chars(blocks[half]) <= total / 2:
            size += _chars(blocks[half])
            half += 1
        half = max(half, 1)
        parts = [blocks[:half], blocks[half:]]
    elif blocks and blocks[0].get("type") == "markdown" and len(blocks[0]["text"]) >= 400:
        text = blocks[0]["text"]
        parts = [[kit.markdown(p)] for p in markdown.split(text, len(text) // 2 + 1)]
        if len(parts) < 2:
            return None
    else:
        return None
    return [{"text": message["text"] if i == 0 else messages.ANSWER_CONTINUED, "blocks": p}
            for i, p in enumerate(parts)]


def answer_text(answer: Answer) -> str:
    """The plain fallback for notifications and screen readers: no links, no markup."""
    if answer.outcome == EVIDENCE and answer.evidence:
        text = messages.EVIDENCE_TEXT
    elif not states_fact(answer):
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
