"""A restricted document never reaches anyone outside its audience: not in text, quotes,
links or "might be related", on any path. Each probe has a positive control (a member
on a private path does see it), so the absence elsewhere is meaningful."""

from __future__ import annotations

import json

import pytest

from tests.slack_fixtures import EMPLOYEE, GENERAL, HR_PERSON, MANAGER, SlackBot

SALARY_Q = "When does the salary band review window run, and which form is for off-cycle raises?"
SALARY_MARKS = ("manager-guide-compensation", "Manager guide", "CX-2", "1-15 March")
INVESTIGATION_Q = "Which external firm runs investigations and what is the case reference format?"
INVESTIGATION_MARKS = ("hr-investigations-procedure", "Halden", "INV-2026")


def everything_sent(bot: SlackBot) -> str:
    """Every byte PolicyBot sent to Slack, decoded: text, blocks, views, response URLs."""
    return "\n".join(json.dumps(c.params, ensure_ascii=False) for c in bot.slack.calls)


def leaked(bot: SlackBot, marks: tuple[str, ...]) -> list[str]:
    sent = everything_sent(bot)
    return [m for m in marks if m in sent]


def test_managers_see_their_guide_privately_but_never_in_a_channel(slack_bot: SlackBot) -> None:
    slack_bot.command(SALARY_Q, user=MANAGER)  # ephemeral: the manager's audiences apply
    slack_bot.settle()
    assert leaked(slack_bot, SALARY_MARKS), "control: a manager's private answer uses the guide"
    slack_bot.slack.reset()
    slack_bot.mention(SALARY_Q, user=MANAGER)  # public thread: public documents only
    slack_bot.settle()
    assert slack_bot.posted(GENERAL)
    assert leaked(slack_bot, SALARY_MARKS) == []


@pytest.mark.parametrize("path", ["command", "dm", "cite", "mention", "thread"])
def test_an_employee_never_gets_the_manager_guide(slack_bot: SlackBot, path: str) -> None:
    if path == "command":
        slack_bot.command(SALARY_Q, user=EMPLOYEE)
    elif path == "dm":
        slack_bot.dm(SALARY_Q, user=EMPLOYEE)
    elif path == "cite":
        slack_bot.command(f"cite {SALARY_Q}", user=EMPLOYEE)
    elif path == "mention":
        slack_bot.mention(SALARY_Q, user=EMPLOYEE)
    else:
        root = "1700000900.000100"
        slack_bot.mention("How do pay reviews work?", user=EMPLOYEE, ts=root)
        slack_bot.settle()
        slack_bot.reply(SALARY_Q, thread_ts=root, user=EMPLOYEE)
    slack_bot.settle()
    assert slack_bot.slack.calls, "the question got no reply at all"
    assert leaked(slack_bot, SALARY_MARKS) == []


def test_dm_audiences_come_from_user_groups_and_user_lists(slack_bot: SlackBot) -> None:
    slack_bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER")  # via user group SMANAGERS
    slack_bot.dm(INVESTIGATION_Q, user=HR_PERSON, channel="DHR")  # via slack.audiences.hr
    slack_bot.settle()
    assert leaked(slack_bot, SALARY_MARKS) and leaked(slack_bot, INVESTIGATION_MARKS)
    lookups = slack_bot.slack.calls_to("usergroups.users.list")
    assert {c.params["usergroup"] for c in lookups} == {"SMANAGERS"}
    slack_bot.slack.reset()
    slack_bot.dm(INVESTIGATION_Q, user=MANAGER, channel="DMANAGER")  # managers aren't hr
    slack_bot.settle()
    assert leaked(slack_bot, INVESTIGATION_MARKS) == []
    assert not slack_bot.slack.calls_to("usergroups.users.list"), "membership is cached"


def test_a_failed_group_lookup_fails_closed(slack_bot: SlackBot) -> None:
    slack_bot.slack.fail("usergroups.users.list", error="missing_scope", times=5)
    slack_bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER")
    slack_bot.settle()
    assert slack_bot.posted("DMANAGER")
    assert leaked(slack_bot, SALARY_MARKS) == []


def test_sharing_a_private_answer_reposts_it_from_public_documents(slack_bot: SlackBot) -> None:
    _, name = slack_bot.command(SALARY_Q, user=MANAGER)
    slack_bot.settle()
    (private,) = slack_bot.responses(name)
    assert any(m in json.dumps(private.params) for m in SALARY_MARKS)
    share = [e for b in json.loads(json.dumps(private.params["blocks"])) if b["type"] == "actions"
             for e in b["elements"] if e["action_id"] == "share_answer"]
    slack_bot.slack.reset()
    slack_bot.click("share_answer", share[0]["value"], user=MANAGER)
    slack_bot.settle()
    assert slack_bot.posted(GENERAL), "the shared answer was posted in the channel"
    assert leaked(slack_bot, SALARY_MARKS) == []


def test_cite_never_shows_someone_elses_private_answer(slack_bot: SlackBot) -> None:
    slack_bot.command(SALARY_Q, user=MANAGER)
    slack_bot.settle()
    slack_bot.slack.reset()
    _, name = slack_bot.command("cite", user=EMPLOYEE)
    slack_bot.settle()
    (reply,) = slack_bot.responses(name)
    assert "couldn't find" in reply.params["text"]
    assert leaked(slack_bot, SALARY_MARKS) == []
