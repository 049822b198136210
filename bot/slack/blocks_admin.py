"""The feedback modal, ``/policy help``, and re-index progress and results.

Feedback carries the answer id in ``private_metadata`` so a submission is tied to the exact
answer without trusting anything the user typed; re-index messages show counts so an admin
can tell at a glance whether a sync did what they expected.
"""

from __future__ import annotations

from typing import Any

from bot.slack import kit, limits, messages
from bot.slack.kit import Block

FAILURES_SHOWN = 10


def feedback_modal(answer_id: str) -> dict[str, Any]:
    """The 👎 follow-up: optional reasons and details; both may be left empty."""
    options = [{"text": kit.plain(label, limits.OPTION_TEXT), "value": value[:limits.OPTION_VALUE]}
               for value, label in messages.FEEDBACK_REASONS[:limits.CHECKBOX_OPTIONS]]
    return {
        "type": "modal",
        "callback_id": "feedback_modal",
        "private_metadata": answer_id[:limits.PRIVATE_METADATA],
        "title": kit.plain(messages.FEEDBACK_MODAL_TITLE, limits.VIEW_TITLE),
        "submit": kit.plain(messages.FEEDBACK_SUBMIT, limits.VIEW_BUTTON),
        "close": kit.plain(messages.FEEDBACK_CLOSE, limits.VIEW_BUTTON),
        "blocks": [
            {"type": "input", "block_id": "reasons", "optional": True,
             "label": kit.plain(messages.FEEDBACK_REASONS_LABEL, limits.INPUT_LABEL),
             "element": {"type": "checkboxes", "action_id": "reasons", "options": options}},
            {"type": "input", "block_id": "details", "optional": True,
             "label": kit.plain(messages.FEEDBACK_DETAILS_LABEL, limits.INPUT_LABEL),
             "element": {"type": "plain_text_input", "action_id": "details",
                         "multiline": True, "max_length": limits.PLAIN_TEXT_INPUT,
                         "placeholder": kit.plain(messages.FEEDBACK_DETAILS_PLACEHOLDER, 150)}},
        ],
    }


def help_blocks() -> list[Block]:
    """``/policy help``: every sub-command, then the other ways to ask."""
    return [kit.section(messages.HELP_COMMAND), kit.context([messages.HELP_CONVERSATION])]


def progress_blocks(source: str | None, done: int, total: int) -> list[Block]:
    """A re-index in flight, updated in place as documents are checked."""
    return [kit.section(messages.reindex_progress(source, done, total)),
            kit.context([messages.progress_bar(done, total)])]


def sync_result_blocks(summary: dict[str, Any], ok: bool) -> list[Block]:
    """How a re-index ended: counts on success, a plain failure notice otherwise."""
    source = summary.get("source")
    if not ok:
        blocks = [kit.section(messages.reindex_failed(source))]
    else:
        blocks = [kit.section(messages.reindex_finished(
            source, int(summary.get("added", 0)), int(summary.get("updated", 0)),
            int(summary.get("unchanged", 0)), int(summary.get("deleted", 0)),
            int(summary.get("failed", 0)), float(summary.get("seconds", 0.0))))]
    failures = summary.get("failures") or []
    lines = [messages.failed_document(str(p), str(r)) for p, r in failures[:FAILURES_SHOWN]]
    if len(failures) > FAILURES_SHOWN:
        lines.append(messages.more(len(failures) - FAILURES_SHOWN))
    if lines:
        blocks.append(kit.context(["\n".join(lines)]))
    return blocks
