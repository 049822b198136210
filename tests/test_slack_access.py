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


# -- guests and Slack Connect users (users.info) ----------------------------------------

GUEST, SINGLE_GUEST, OUTSIDER = "UGUEST", "USINGLEGUEST", "UOUTSIDER"
LEAVE_Q = "How many days of annual leave do I get?"


def answers_to(bot: SlackBot, user: str) -> int:
    """How many answers PolicyBot recorded for ``user`` (every answer given is recorded)."""
    from sqlalchemy import func, select

    from bot.history_tables import answers

    with bot.svc.history.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(answers)
                            .where(answers.c.user_id == user)).scalar_one()


def _strangers(bot: SlackBot) -> None:
    """A multi-channel guest, a single-channel guest and a Slack Connect user from another
    organisation (users.info names their own team), all in the managers' user group."""
    bot.slack.users.update({GUEST: {"is_restricted": True},
                            SINGLE_GUEST: {"is_restricted": True, "is_ultra_restricted": True},
                            OUTSIDER: {"team_id": "T0PARTNER"}})
    bot.slack.usergroups["SMANAGERS"] = [MANAGER, GUEST, SINGLE_GUEST, OUTSIDER]


@pytest.mark.parametrize("user", [GUEST, SINGLE_GUEST, OUTSIDER])
def test_guests_and_slack_connect_users_get_no_answers_by_default(
        slack_bot: SlackBot, user: str) -> None:
    from bot.slack import messages

    _strangers(slack_bot)
    slack_bot.mention(LEAVE_Q, user=user)
    _, name = slack_bot.command(LEAVE_Q, user=user)
    slack_bot.dm(SALARY_Q, user=user, channel="DSTRANGER")
    slack_bot.settle()
    (note,) = slack_bot.slack.calls_to("chat.postEphemeral")
    assert note.params["user"] == user and note.params["text"] == messages.GUESTS_NOT_ANSWERED
    (reply,) = slack_bot.responses(name)
    assert reply.params["text"] == messages.GUESTS_NOT_ANSWERED
    (dm,) = slack_bot.posted("DSTRANGER")
    assert dm.params["text"] == messages.GUESTS_NOT_ANSWERED
    assert answers_to(slack_bot, user) == 0 and leaked(slack_bot, SALARY_MARKS) == []
    slack_bot.slack.reset()
    slack_bot.mention(LEAVE_Q, user=EMPLOYEE)  # control: an employee is answered
    slack_bot.settle()
    assert answers_to(slack_bot, EMPLOYEE) == 1


@pytest.fixture
def guests_allowed(tmp_path, indexed_handbook, embedder):
    from tests.slack_fixtures import make_bot

    yield from make_bot(tmp_path, indexed_handbook, embedder, allow_guests=True)


@pytest.mark.parametrize("user", [GUEST, OUTSIDER])
def test_allowed_guests_get_public_answers_but_never_restricted_documents(
        guests_allowed: SlackBot, user: str) -> None:
    bot = guests_allowed
    _strangers(bot)  # in the managers' group, yet no manager documents for them
    bot.dm(LEAVE_Q, user=user, channel="DSTRANGER")
    bot.settle()
    assert answers_to(bot, user) == 1, "allowed guests are answered"
    bot.slack.reset()
    bot.dm(SALARY_Q, user=user, channel="DSTRANGER")
    bot.command(SALARY_Q, user=user)
    bot.settle()
    assert bot.posted("DSTRANGER") and bot.slack.calls_to("response_url")
    assert leaked(bot, SALARY_MARKS) == []
    bot.slack.reset()
    bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER")  # control: a manager employee
    bot.settle()
    assert leaked(bot, SALARY_MARKS)


def test_a_failed_users_info_gets_no_answer(slack_bot: SlackBot) -> None:
    from bot.slack import messages

    slack_bot.slack.fail("users.info", error="ratelimited", status=200, times=None)
    slack_bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER")
    slack_bot.settle()
    (dm,) = slack_bot.posted("DMANAGER")
    assert dm.params["text"] == messages.WHO_ARE_YOU
    assert leaked(slack_bot, SALARY_MARKS) == []


# -- group membership: a bounded grace after a failed lookup ----------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_group_lookup_serves_stale_membership_only_for_the_grace(
        slack_bot: SlackBot) -> None:
    """A manager removed from the group while Slack's group lookup fails keeps access for
    at most membership_cache_s + membership_grace_s after the last good lookup."""
    slack = slack_bot.svc.settings.slack
    assert (slack.membership_cache_s, slack.membership_grace_s) == (300, 600)  # defaults
    clock = Clock()
    slack_bot.svc.access.groups.cache.clock = clock
    slack_bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER")
    slack_bot.settle()
    assert leaked(slack_bot, SALARY_MARKS), "control: a manager sees the guide"
    slack_bot.slack.fail("usergroups.users.list", error="internal_error", times=None)
    clock.now += 300 + 590  # expired, lookups fail, still within the grace
    slack_bot.slack.calls.clear()
    slack_bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER")
    slack_bot.settle()
    assert slack_bot.slack.calls_to("usergroups.users.list"), "the lookup was tried"
    assert leaked(slack_bot, SALARY_MARKS), "a Slack hiccup is not an outage"
    clock.now += 20  # past the grace: fail closed
    slack_bot.slack.calls.clear()
    slack_bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER")
    slack_bot.settle()
    assert slack_bot.posted("DMANAGER")
    assert leaked(slack_bot, SALARY_MARKS) == []


# -- /policy cite <link>: only answers from channels the caller is in -------------------

PRIVATE = "CPRIVATE"


def _link(channel: str, ts: str) -> str:
    return f"<https://policybot-test.slack.com/archives/{channel}/p{ts.replace('.', '')}>"


def test_cite_links_into_a_channel_the_caller_is_not_in_are_refused(
        slack_bot: SlackBot) -> None:
    from bot.slack import messages

    question = LEAVE_Q
    root = "1700004000.000100"
    slack_bot.mention(question, user=MANAGER, channel=PRIVATE, ts=root)
    slack_bot.settle()
    record = slack_bot.svc.history.answer_at(PRIVATE, root)
    assert record is not None and record.citations
    quote = " ".join(record.citations[0]["quote"].split()[:5])
    slack_bot.slack.reset()
    others = [f"U{i:05d}" for i in range(450)]  # three pages of 200 members
    for members, allowed in ((None, False), (others, False), ([*others, EMPLOYEE], True)):
        if members is not None:
            slack_bot.slack.channels[PRIVATE] = members
        slack_bot.slack.calls.clear()
        _, name = slack_bot.command(f"cite {_link(PRIVATE, root)}", user=EMPLOYEE)
        slack_bot.settle()
        (reply,) = slack_bot.responses(name)
        sent = everything_sent(slack_bot)
        if allowed:  # control: a member of the channel sees the passages
            assert reply.params["text"] == messages.CITE_TITLE and quote in " ".join(
                sent.split())
        else:
            assert reply.params["text"] == messages.CITE_OTHER_CHANNEL
            assert question not in sent and quote not in " ".join(sent.split())
    pages = slack_bot.slack.calls_to("conversations.members")
    assert len(pages) == 3 and all(p.params["channel"] == PRIVATE for p in pages)


def test_cite_links_into_the_channel_itself_need_no_lookup(slack_bot: SlackBot) -> None:
    from bot.slack import messages

    root = "1700004100.000100"
    slack_bot.mention(LEAVE_Q, user=MANAGER, channel=PRIVATE, ts=root)
    slack_bot.settle()
    slack_bot.slack.reset()
    _, name = slack_bot.command(f"cite {_link(PRIVATE, root)}", user=EMPLOYEE, channel=PRIVATE)
    slack_bot.settle()
    (reply,) = slack_bot.responses(name)
    assert reply.params["text"] == messages.CITE_TITLE
    assert slack_bot.slack.calls_to("conversations.members") == []
