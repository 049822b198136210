"""The 👎 follow-up modal: optional reasons and details.

Feedback carries the answer id in ``private_metadata`` so a submission is tied to the exact
answer without trusting anything the user typed.
"""

from __future__ import annotations

from typing import Any

from bot.slack import kit, limits, messages


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


# Native feedback (issue 12): one feedback_buttons element under every answer. Slack sends
# the clicked button's `value` in a block_actions payload (action type "feedback_buttons"),
# so each value names the vote and the answer. The old buttons (action ids feedback_up /
# feedback_down, value = the answer id) are still handled for messages posted before.
FEEDBACK_ACTION = "answer_feedback"
RATINGS = ("up", "down")


def feedback_value(rating: str, answer_id: str) -> str:
    """``up:ANSWER_ID`` or ``down:ANSWER_ID``: what a feedback button sends back."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
    return f"{rating}:{answer_id}"[:limits.ACTION_VALUE]


def parse_feedback_value(value: str) -> tuple[str, str] | None:
    """``(rating, answer_id)`` from a clicked button's value; None for anything else."""
    rating, sep, answer_id = (value or "").partition(":")
    if not sep or rating not in RATINGS or not answer_id.strip():
        return None
    return rating, answer_id.strip()
