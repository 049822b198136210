"""The admins' App Home shows the week's top five gaps; everyone else's Home is unchanged.

Questions arrive as signed Slack events, are answered over the sample handbook and stored
by the app itself; the Home is then opened over signed HTTP as Slack opens it."""

from __future__ import annotations

from bot.slack import messages
from bot.slack.blocks_home import home_view
from indexer.status import index_status
from tests.blocks_check import assert_view_within_limits, texts
from tests.report_fixtures import ASKERS, CRYPTO, DOG, LEAVE
from tests.slack_fixtures import ADMIN, EMPLOYEE, SlackBot


def _open_home(bot: SlackBot, *users: str) -> dict[str, dict]:
    for user in users:
        bot.event({"type": "app_home_opened", "user": user, "channel": "DHOME",
                   "tab": "home", "event_ts": "1700001400.000100"})
    bot.settle()
    return {c.params["user_id"]: c.json("view") for c in bot.slack.calls_to("views.publish")}


def test_admins_home_shows_the_weeks_top_gaps_with_counts_only(slack_bot: SlackBot) -> None:
    askers = (ASKERS[0], ASKERS[1], ASKERS[2], ASKERS[0])
    for question, user in [*zip(DOG, askers, strict=True), (CRYPTO, ASKERS[3]),
                           (LEAVE, ASKERS[3])]:
        slack_bot.mention(question, user=user)
    slack_bot.settle()
    assert len(slack_bot.posted()) >= 6  # each question answered in Slack (and stored)
    views = _open_home(slack_bot, ADMIN, EMPLOYEE)
    admin = texts(views[ADMIN]["blocks"])
    assert_view_within_limits(views[ADMIN])
    assert messages.GAPS_TITLE in admin
    assert messages.gap_line(DOG[0], 4, 3) in admin  # four askings, three people
    assert CRYPTO in admin and LEAVE not in admin  # answered questions are no gap
    assert not any(user in admin for user in ASKERS)
    employee = views[EMPLOYEE]
    assert messages.GAPS_TITLE not in texts(employee["blocks"])
    assert "dog" not in texts(employee["blocks"])
    assert employee == home_view(index_status(slack_bot.svc.index), is_admin=False)


def test_admins_home_says_when_the_week_had_no_gaps(slack_bot: SlackBot) -> None:
    views = _open_home(slack_bot, ADMIN)
    admin = texts(views[ADMIN]["blocks"])
    assert messages.GAPS_TITLE in admin and messages.GAPS_NONE in admin
