"""Stale-answer alerts: one reply per answer and change, only for recent answers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.history_tables import answers
from indexer.state import utcnow
from tests.slack_fixtures import GENERAL, SlackBot

ROOT = "1700002000.000100"


def _alerts(bot: SlackBot) -> list:
    """Alerts Slack accepted (refused attempts are recorded by the stand-in too)."""
    return [c for c in bot.slack.calls_to("chat.postMessage")
            if "after this answer was written" in c.params.get("text", "")
            and c.response.get("ok")]


def _answer(bot: SlackBot) -> dict:
    bot.mention("How many days of annual leave do I get?", ts=ROOT)
    bot.settle()
    record = bot.svc.history.latest_answer(GENERAL, ROOT)
    return record.citations[0]


def test_a_changed_cited_document_is_announced_once_in_the_thread(slack_bot: SlackBot) -> None:
    cited = _answer(slack_bot)
    path = slack_bot.docs / cited["path"]
    path.write_text(path.read_text() + "\n\nNew: leave requests go through Beacon.\n")
    slack_bot.svc.index.sync(["handbook"])
    (alert,) = _alerts(slack_bot)
    assert alert.params["channel"] == GENERAL and alert.params["thread_ts"] == ROOT
    assert cited["title"] in alert.params["text"] and "Ask again" in alert.params["text"]
    # what the new version is, worded as beside a source (the file's own date, or the sync day)
    assert re.search(r"\(now (updated|synced) \d{4}-\d{2}-\d{2}\)", alert.params["text"])
    slack_bot.svc.index.sync(["handbook"])  # nothing new changed
    slack_bot.svc.index.sync(["handbook"], full=True)  # re-read, same content
    assert len(_alerts(slack_bot)) == 1
    path.write_text(path.read_text() + "\nAnother change.\n")  # a second, different change
    slack_bot.svc.index.sync(["handbook"])
    assert len(_alerts(slack_bot)) == 2


def test_a_removed_document_is_announced(slack_bot: SlackBot) -> None:
    cited = _answer(slack_bot)
    (slack_bot.docs / cited["path"]).unlink()
    slack_bot.svc.index.sync(["handbook"])
    (alert,) = _alerts(slack_bot)
    assert "was removed" in alert.params["text"]


def test_old_answers_get_no_alert(slack_bot: SlackBot) -> None:
    cited = _answer(slack_bot)
    with slack_bot.svc.history.engine.begin() as conn:
        conn.execute(update(answers).values(created_at=utcnow() - timedelta(days=31)))
    path = slack_bot.docs / cited["path"]
    path.write_text(path.read_text() + "\n\nChanged.\n")
    slack_bot.svc.index.sync(["handbook"])
    assert _alerts(slack_bot) == []


def test_a_standalone_scheduler_posts_the_alerts(slack_bot: SlackBot, monkeypatch) -> None:
    """With the scheduler in its own process, that process sees the sync and alerts."""
    from bot.cli.index_commands import _alert_from_here
    from indexer.index import PolicyIndex
    from tests.slack_fixtures import TOKEN

    cited = _answer(slack_bot)
    from bot.settings import load_app_settings

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("POLICYBOT_SLACK_API_URL", slack_bot.slack.url)
    read = load_app_settings().slack  # what the scheduler process reads at its start
    settings = slack_bot.svc.settings.model_copy(update={"slack": slack_bot.svc.settings.slack
                                                         .model_copy(update={
                                                             "bot_token": read.bot_token,
                                                             "api_url": read.api_url})})
    scheduler_index = PolicyIndex(settings, embedder=slack_bot.svc.index.embedder)
    _alert_from_here(settings, scheduler_index)
    path = slack_bot.docs / cited["path"]
    path.write_text(path.read_text() + "\n\nChanged by the policy owner.\n")
    scheduler_index.sync(["handbook"], trigger="schedule")
    (alert,) = _alerts(slack_bot)
    assert alert.params["thread_ts"] == ROOT


def _change(bot: SlackBot, cited: dict, text: str) -> None:
    path = bot.docs / cited["path"]
    path.write_text(path.read_text() + f"\n\n{text}\n")


def test_an_alert_slack_refused_is_posted_after_the_next_sync_once(slack_bot: SlackBot) -> None:
    cited = _answer(slack_bot)
    _change(slack_bot, cited, "New: leave requests go through Beacon.")
    slack_bot.slack.fail("chat.postMessage", status=500)
    slack_bot.svc.index.sync(["handbook"])
    assert _alerts(slack_bot) == []  # refused: Slack answered 500
    slack_bot.svc.index.sync(["handbook"])  # nothing changed, but the alert is still owed
    (alert,) = _alerts(slack_bot)
    assert alert.params["thread_ts"] == ROOT and cited["title"] in alert.params["text"]
    slack_bot.svc.index.sync(["handbook"])
    assert len(_alerts(slack_bot)) == 1


def test_an_alert_for_a_thread_that_is_gone_is_not_retried(slack_bot: SlackBot) -> None:
    cited = _answer(slack_bot)
    _change(slack_bot, cited, "Changed.")
    slack_bot.slack.fail("chat.postMessage", error="channel_not_found")
    slack_bot.svc.index.sync(["handbook"])
    slack_bot.slack.reset()
    slack_bot.svc.index.sync(["handbook"])
    assert slack_bot.slack.calls_to("chat.postMessage") == []


def test_an_alert_is_tried_a_bounded_number_of_times(slack_bot: SlackBot) -> None:
    from bot.alert_ledger import MAX_ATTEMPTS

    cited = _answer(slack_bot)
    _change(slack_bot, cited, "Changed.")
    slack_bot.slack.reset()
    slack_bot.slack.fail("chat.postMessage", status=500, times=None)
    for _ in range(MAX_ATTEMPTS + 2):
        slack_bot.svc.index.sync(["handbook"])
    assert len(slack_bot.slack.calls_to("chat.postMessage")) == MAX_ATTEMPTS


def test_two_processes_retrying_the_same_alert_post_it_once(slack_bot: SlackBot) -> None:
    """A second replica sees the same refused alert; only one of them takes it."""
    from bot.history import BotHistory

    cited = _answer(slack_bot)
    _change(slack_bot, cited, "Changed.")
    slack_bot.slack.fail("chat.postMessage", status=500)
    slack_bot.svc.index.sync(["handbook"])
    other = BotHistory(slack_bot.svc.settings.db_url).alerts
    (seen,) = slack_bot.svc.history.alerts.failed()
    assert other.reclaim(seen) is not None
    assert slack_bot.svc.history.alerts.reclaim(seen) is None


def test_a_post_that_times_out_does_not_stop_the_other_alerts_and_is_never_repeated(
        slack_bot: SlackBot) -> None:
    """Slack takes the first alert but answers too late (a read timeout: the post's fate
    is unknown to the bot). The other thread's alert is still claimed and posted; the one
    that timed out is not retried, since it may be in its thread already."""
    other = "1700002100.000100"
    cited = _answer(slack_bot)
    slack_bot.mention("How many days of annual leave do I get?", ts=other)
    slack_bot.settle()
    _change(slack_bot, cited, "New: leave requests go through Beacon.")
    slack_bot.svc.client.timeout = 1
    slack_bot.slack.slow("chat.postMessage", 3, times=1)
    slack_bot.svc.index.sync(["handbook"])
    posts = [c for c in slack_bot.slack.calls_to("chat.postMessage")
             if "after this answer was written" in c.params.get("text", "")]
    assert sorted(c.params["thread_ts"] for c in posts) == [ROOT, other]
    slack_bot.slack.reset()
    slack_bot.svc.client.timeout = 15
    slack_bot.svc.index.sync(["handbook"])
    assert slack_bot.slack.calls_to("chat.postMessage") == [], "a post of unknown fate repeated"


def test_alerts_are_claimed_one_thread_at_a_time(slack_bot: SlackBot, monkeypatch) -> None:
    """When the pass stops half-way (the process dies during a post), the threads it had
    not reached are still owed their alert: nothing is claimed ahead of its own post."""
    from sqlalchemy import select

    import bot.slack.stale as stale
    from bot.history_tables import stale_alerts

    other = "1700002200.000100"
    cited = _answer(slack_bot)
    slack_bot.mention("How many days of annual leave do I get?", ts=other)
    slack_bot.settle()
    _change(slack_bot, cited, "Changed.")

    def dies(svc, record, alerts, *rest):  # the process is killed while posting the first alert
        raise SystemExit("killed")

    monkeypatch.setattr(stale, "_post", dies)
    with pytest.raises(SystemExit):
        slack_bot.svc.index.sync(["handbook"])
    with slack_bot.svc.history.engine.connect() as conn:
        claimed = conn.execute(select(stale_alerts.c.answer_id)).scalars().all()
    assert len(claimed) == 1, "the other thread's alert was claimed before its post"
