"""Mentions, DMs and thread follow-ups, dispatched as signed requests through the app,
asserted on the Web API calls the Slack stand-in received."""

from __future__ import annotations

from tests.blocks_check import assert_within_limits, texts
from tests.slack_fixtures import GENERAL, SlackBot


def _final(bot: SlackBot, channel: str) -> dict:
    """The last chat.update in ``channel``: the answer replacing the placeholder."""
    updates = [c for c in bot.slack.calls_to("chat.update") if c.params["channel"] == channel]
    assert updates, f"no answer posted in {channel}: {bot.slack.calls}"
    return updates[-1]


def test_mention_is_answered_in_its_thread_with_cited_sources(slack_bot: SlackBot) -> None:
    response = slack_bot.mention("How many days of annual leave do I get?", ts="1700000100.000100")
    assert response.status == 200
    slack_bot.settle()
    placeholder = slack_bot.slack.calls_to("chat.postMessage")[0]
    assert placeholder.params["thread_ts"] == "1700000100.000100"
    assert placeholder.params["channel"] == GENERAL
    final = _final(slack_bot, GENERAL)
    assert final.params["ts"] == placeholder.response["ts"]
    blocks = final.json("blocks")
    assert_within_limits(blocks)
    shown = texts(blocks)
    assert "25" in shown  # the handbook grants 25 days
    assert "annual-leave" in shown or "Annual leave" in shown
    (native,) = [b for b in blocks if b["type"] == "context_actions"]
    assert [(e["type"], e["action_id"]) for e in native["elements"]] == \
        [("feedback_buttons", "answer_feedback")]


def test_dm_is_answered_in_the_dm(slack_bot: SlackBot) -> None:
    slack_bot.dm("Can I expense a business class flight?", channel="DEMPLOYEE")
    slack_bot.settle()
    placeholder = slack_bot.slack.calls_to("chat.postMessage")[0]
    assert placeholder.params["channel"] == "DEMPLOYEE"
    assert not placeholder.params.get("thread_ts")
    assert "class" in texts(_final(slack_bot, "DEMPLOYEE").json("blocks")).lower()


def test_thread_reply_without_mention_is_a_follow_up(slack_bot: SlackBot) -> None:
    root = "1700000200.000100"
    slack_bot.mention("How many days of annual leave do I get?", ts=root)
    slack_bot.settle()
    slack_bot.reply("Can I carry any of them over to next year?", thread_ts=root)
    slack_bot.settle()
    posts = slack_bot.slack.calls_to("chat.postMessage")
    assert [p.params["thread_ts"] for p in posts] == [root, root]
    answer = texts(_final(slack_bot, GENERAL).json("blocks")).lower()
    assert "carry" in answer  # the follow-up was read as being about annual leave
    stored = slack_bot.svc.history.thread_turns(GENERAL, root, limit=5)
    assert [r.question for r in stored][-1].startswith("Can I carry")


def test_replies_in_threads_the_bot_never_answered_are_left_alone(slack_bot: SlackBot) -> None:
    slack_bot.reply("What is the expense limit for meals?", thread_ts="1700000300.000100")
    slack_bot.settle()
    assert not slack_bot.posted()


def test_bots_edits_and_deletions_get_no_answer(slack_bot: SlackBot) -> None:
    from tests.slack_signing import message_event

    bot_msg = message_event("How many days of leave?", "UOTHERBOT", "DEMPLOYEE", "1700000400.1",
                            bot_id="BOTHER")
    edited = message_event("How many days of leave?", "UEMPLOYEE", "DEMPLOYEE", "1700000400.2")
    edited["edited"] = {"user": "UEMPLOYEE", "ts": "1700000400.3"}
    deleted = {"type": "message", "subtype": "message_deleted", "channel": "DEMPLOYEE",
               "channel_type": "im", "ts": "1700000400.4", "deleted_ts": "1700000400.2"}
    for event in (bot_msg, edited, deleted):
        assert slack_bot.event(event).status == 200
    slack_bot.settle()
    assert not slack_bot.posted()


def test_a_retried_event_is_answered_once(slack_bot: SlackBot) -> None:
    from tests.slack_signing import app_mention

    event = app_mention("<@UBOT> What is the per diem for meals?", "UEMPLOYEE", GENERAL,
                        "1700000500.000100")
    assert slack_bot.event(event, event_id="EvRETRY1").status == 200
    for n in (1, 2):
        assert slack_bot.event(event, event_id="EvRETRY1", retry_num=n).status == 200
    slack_bot.settle()
    assert len(slack_bot.slack.calls_to("chat.postMessage")) == 1
    assert len(slack_bot.svc.history.thread_turns(GENERAL, "1700000500.000100", 9)) == 1


def test_a_channel_allowed_no_source_says_so(slack_bot: SlackBot) -> None:
    from tests.slack_fixtures import NOWHERE

    slack_bot.mention("How many days of annual leave do I get?", channel=NOWHERE)
    slack_bot.settle()
    notes = slack_bot.slack.calls_to("chat.postEphemeral")
    assert len(notes) == 1 and "None of the policy sources" in notes[0].params["text"]
    assert not slack_bot.posted()


def test_per_user_rate_limit_is_friendly(tmp_path, indexed_handbook, embedder) -> None:
    from tests.slack_fixtures import make_bot

    for bot in make_bot(tmp_path, indexed_handbook, embedder, rate_limit=2):
        for _ in range(3):
            bot.mention("How many days of annual leave do I get?")
        bot.settle()
        assert len(bot.slack.calls_to("chat.postMessage")) == 2
        (note,) = bot.slack.calls_to("chat.postEphemeral")
        assert note.params["user"] == "UEMPLOYEE" and "try again in" in note.params["text"]


def test_a_channels_sources_limit_what_it_answers_from(slack_bot: SlackBot) -> None:
    from tests.conftest import write
    from tests.slack_fixtures import HR_ONLY

    write(slack_bot.docs.parent / "extra", "parking.md",
          "# Parking\n\nThe staff car park on Quarry Lane has 40 spaces; permits cost "
          "12 pounds a month and are issued by Facilities.\n")
    slack_bot.svc.index.sync(["extra"])
    question = "How much does a Quarry Lane car park permit cost?"
    slack_bot.mention(question, channel=GENERAL)
    slack_bot.settle()
    assert "12 pounds" in texts(_final(slack_bot, GENERAL).json("blocks"))
    slack_bot.mention(question, channel=HR_ONLY)
    slack_bot.settle()
    assert "Quarry" not in texts(_final(slack_bot, HR_ONLY).json("blocks"))


def test_slack_rate_limits_on_posting_are_waited_out(slack_bot: SlackBot) -> None:
    slack_bot.slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    slack_bot.mention("How many days of annual leave do I get?")
    slack_bot.settle()
    attempts = slack_bot.slack.calls_to("chat.postMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.9
    assert _final(slack_bot, GENERAL)


def test_a_retry_after_a_restart_is_still_answered_once(slack_bot: SlackBot) -> None:
    """The claim lives in the state database, so a process that restarted between the
    first delivery and Slack's retry does not answer again."""
    from bot.slack.app import build_app
    from bot.slack.client import web_client
    from bot.slack.services import Services
    from tests.slack_fixtures import SECRET, TOKEN
    from tests.slack_signing import app_mention

    event = app_mention("<@UBOT> What is the per diem for meals?", "UEMPLOYEE", GENERAL,
                        "1700000550.000100")
    slack_bot.event(event, event_id="EvRESTART1")
    slack_bot.settle()
    restarted = Services.build(slack_bot.svc.settings, web_client(TOKEN, slack_bot.slack.url),
                               slack_bot.svc.index)
    before = slack_bot.svc
    before.close()  # the old process is gone; the fixture closes the new one
    slack_bot.app, slack_bot.svc = build_app(restarted, SECRET), restarted
    assert slack_bot.event(event, event_id="EvRESTART1", retry_num=1).status == 200
    slack_bot.settle()
    assert len(slack_bot.slack.calls_to("chat.postMessage")) == 1
