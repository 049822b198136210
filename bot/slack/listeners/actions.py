"""Buttons and the feedback modal: 👍/👎, "Share in channel", App Home's "Re-index".

👍/👎 arrive two ways: Slack's native feedback_buttons (action ``answer_feedback``, value
``up:ID``/``down:ID``) under answers posted now, and the old buttons (``feedback_up`` /
``feedback_down``, value ``ID``) under answers posted before. Both store the same vote
the same way, so feedback and the training data drawn from it do not depend on which
message was clicked."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.ask import Question
from bot.slack import messages
from bot.slack.blocks_feedback import feedback_modal, parse_feedback_value
from bot.slack.replies import Shared
from bot.slack.services import Services
from bot.slack.stored import as_answer, readable_by
from bot.slack.syncing import reindex_checked
from bot.slack.workers import Busy

log = logging.getLogger(__name__)


def register(app: App, svc: Services) -> None:
    # Listeners run before the HTTP response goes back (process_before_response), so the
    # database writes and Web API calls of a click run in the notes pool, after the ack.
    @app.action("feedback_up")
    def on_up(ack: Ack, body: dict[str, Any], action: dict[str, Any],
              respond: Respond) -> None:
        ack()
        _later(svc, _thank, svc, body, action["value"], respond)

    @app.action("feedback_down")
    def on_down(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        _later(svc, _ask_why, svc, body, action["value"])

    # blocks_feedback.FEEDBACK_ACTION, written out: test_slack_manifest reads literal names
    @app.action("answer_feedback")
    def on_feedback_buttons(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                            respond: Respond) -> None:
        ack()
        vote = parse_feedback_value(action.get("value", "")) \
            if action.get("type") == "feedback_buttons" else None
        if vote is None:  # not what PolicyBot's buttons send: ignore, never guess a vote
            log.warning("feedback click ignored: unexpected %s action",
                        action.get("type") or "untyped")
            return
        rating, answer_id = vote
        if rating == "up":
            _later(svc, _thank, svc, body, answer_id, respond)
        else:
            _later(svc, _ask_why, svc, body, answer_id)

    @app.view("feedback_modal")
    def on_feedback(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        values = view.get("state", {}).get("values", {})
        reasons = [o["value"] for o in
                   values.get("reasons", {}).get("reasons", {}).get("selected_options") or []]
        details = (values.get("details", {}).get("details", {}).get("value") or "").strip()
        _later(svc, _vote, svc, body, view.get("private_metadata", ""), "down", reasons,
               details)

    @app.action("share_answer")
    def on_share(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                 respond: Respond) -> None:
        ack()
        _later(svc, _share, svc, body, action["value"], respond)

    @app.action("reindex_source")
    def on_reindex(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        source = action.get("value") or None
        if source and source not in svc.source_names:
            return
        # the admin check may look up a user group: after the ack, in the notes pool
        _later(svc, reindex_checked, svc, body["user"]["id"], source)


def _later(svc: Services, fn: Any, *args: Any) -> None:
    try:
        svc.notes.submit(fn, *args)
    except Busy:
        log.warning("%s dropped: the notes queue is full", fn.__name__)


def _thank(svc: Services, body: dict[str, Any], answer_id: str, respond: Respond) -> None:
    if _vote(svc, body, answer_id, "up"):
        respond(response_type="ephemeral", replace_original=False,
                text=messages.FEEDBACK_THANKS)


def _ask_why(svc: Services, body: dict[str, Any], answer_id: str) -> None:
    """Record the 👎 at once, then open the modal asking what was wrong."""
    if _vote(svc, body, answer_id, "down"):
        try:
            svc.client.views_open(trigger_id=body["trigger_id"], view=feedback_modal(answer_id))
        except SlackApiError as exc:
            svc.slack_error("views.open", exc)


def _vote(svc: Services, body: dict[str, Any], answer_id: str, rating: str,
          reasons: list[str] | None = None, details: str = "") -> bool:
    record = svc.history.answer(answer_id)
    if record is None:
        return False
    svc.history.record_feedback(answer_id, body["user"]["id"], rating, reasons, details)
    return True


def _share(svc: Services, body: dict[str, Any], answer_id: str, respond: Respond) -> None:
    """Post an answer for everyone in the channel, through the Ask like any question (the
    sharer is checked, rate-limited, recorded and counted). An answer drawn with the
    asker's audiences might quote restricted documents, so it is asked again with public
    ones only, in the answer pool; a public one is shown again as it was."""
    user = body["user"]["id"]
    record = svc.history.answer(answer_id)
    if record is None or not readable_by(record, user):
        return
    channel = (body.get("channel") or {}).get("id") or record.channel_id
    q = Question(record.question, "share", user_id=user, channel_id=channel, private=False,
                 visibility="public", reuse=None if record.audiences else as_answer(record),
                 reuse_model=record.model)
    share = Shared(svc, q, respond, answer_id)
    if q.reuse is not None:
        svc.ask(q, share)
        return
    try:
        svc.workers.submit(svc.ask, q, share)
    except Busy:
        respond(response_type="ephemeral", replace_original=False, text=messages.BUSY)
