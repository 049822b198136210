"""👍/👎 feedback, the 👎 modal, and App Home."""

from __future__ import annotations

from tests.blocks_check import assert_view_within_limits, texts
from tests.slack_fixtures import ADMIN, EMPLOYEE, GENERAL, MANAGER, SlackBot
from tests.slack_signing import action_body, view_submission


def _answer_id(bot: SlackBot) -> str:
    bot.mention("How many days of annual leave do I get?", ts="1700001100.000100")
    bot.settle()
    record = bot.svc.history.latest_answer(GENERAL)
    assert record is not None
    return record.id


def test_thumbs_up_is_stored_with_the_answer_and_thanked(slack_bot: SlackBot) -> None:
    answer_id = _answer_id(slack_bot)
    _, name = slack_bot.click("feedback_up", answer_id, user=MANAGER)
    slack_bot.settle()
    (thanks,) = slack_bot.responses(name)
    assert thanks.params["response_type"] == "ephemeral" and "Thanks" in thanks.params["text"]
    (fb,) = slack_bot.svc.history.feedback_records("up")
    assert fb["user_id"] == MANAGER and fb["channel_id"] == GENERAL
    assert fb["question"] == "How many days of annual leave do I get?"
    assert fb["citations"] and fb["citations"][0]["quote"]
    assert fb["model"] == "extractive" and fb["generator"] == "extractive"


def test_thumbs_down_opens_a_modal_whose_answers_are_stored(slack_bot: SlackBot) -> None:
    answer_id = _answer_id(slack_bot)
    slack_bot.click("feedback_down", answer_id, trigger_id="42.trigger")
    slack_bot.settle()
    (opened,) = slack_bot.slack.calls_to("views.open")
    view = opened.json("view")
    assert opened.params["trigger_id"] == "42.trigger"
    assert view["callback_id"] == "feedback_modal" and view["private_metadata"] == answer_id
    assert_view_within_limits(view)
    submitted = view_submission("feedback_modal", answer_id, EMPLOYEE, {
        "reasons": {"reasons": {"type": "checkboxes",
                                "selected_options": [{"value": "outdated"}]}},
        "details": {"details": "The carry-over rule changed in 2026."}})
    body, ctype = action_body(submitted)
    assert slack_bot.dispatch(body, ctype).status == 200
    slack_bot.settle()
    (fb,) = slack_bot.svc.history.feedback_records("down")
    assert fb["reasons"] == ["outdated"]
    assert fb["details"] == "The carry-over rule changed in 2026."
    # a later 👍 from the same person replaces the 👎: one vote per person and answer
    slack_bot.click("feedback_up", answer_id)
    slack_bot.settle()
    assert not slack_bot.svc.history.feedback_records("down")


def test_app_home_shows_status_and_reindex_buttons_to_admins_only(slack_bot: SlackBot) -> None:
    for user in (ADMIN, EMPLOYEE):
        slack_bot.event({"type": "app_home_opened", "user": user, "channel": "DHOME",
                         "tab": "home", "event_ts": "1700001200.000100"})
    slack_bot.settle()
    views = {c.params["user_id"]: c.json("view") for c in slack_bot.slack.calls_to("views.publish")}
    for view in views.values():
        assert view["type"] == "home"
        assert_view_within_limits(view)
        assert "handbook" in texts(view["blocks"])
    def buttons(view: dict) -> list[str]:
        return [e.get("value") for b in view["blocks"] if b["type"] in ("actions", "section")
                for e in (b.get("elements") or [b.get("accessory") or {}])
                if e.get("action_id") == "reindex_source"]
    assert "handbook" in buttons(views[ADMIN])
    assert buttons(views[EMPLOYEE]) == []


def test_reindex_button_does_nothing_for_non_admins(slack_bot: SlackBot) -> None:
    runs = len(slack_bot.svc.index.state.runs())
    slack_bot.click("reindex_source", "handbook", user=EMPLOYEE, channel=None)
    slack_bot.settle()
    assert len(slack_bot.svc.index.state.runs()) == runs
    slack_bot.click("reindex_source", "handbook", user=ADMIN, channel=None)
    slack_bot.settle(120)
    assert len(slack_bot.svc.index.state.runs()) == runs + 1


def test_sync_failures_show_only_in_the_admins_app_home(slack_bot: SlackBot) -> None:
    """Which documents failed and why can name restricted paths: admins see them, everyone
    else sees only the counts."""
    extra = slack_bot.docs.parent / "extra"
    (extra / "salary-bands-confidential.docx").write_bytes(b"not a zip at all")
    slack_bot.svc.index.sync(["extra"])
    for user in (ADMIN, EMPLOYEE):
        slack_bot.event({"type": "app_home_opened", "user": user, "channel": "DHOME",
                         "tab": "home", "event_ts": "1700001300.000100"})
    slack_bot.settle()
    views = {c.params["user_id"]: texts(c.json("view")["blocks"])
             for c in slack_bot.slack.calls_to("views.publish")}
    assert "salary-bands-confidential" in views[ADMIN]  # control: admins see the failure
    assert "salary-bands-confidential" not in views[EMPLOYEE]
    assert "extra" in views[EMPLOYEE]  # the source itself is still listed
