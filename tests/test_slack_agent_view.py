"""The agent view (issue 12): a visit to PolicyBot's Messages tab or a new assistant thread
is greeted once and given the suggested prompts; questions asked there are DMs, answered
in their thread with the asker's audiences. Over signed HTTP requests dispatched through
the app, and over Socket Mode, asserted on the Web API calls the Slack stand-in received.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.slack import messages
from tests.slack_fixtures import (
    EMPLOYEE,
    MANAGER,
    TOKEN,
    SlackBot,
    make_bot,
    next_ts,
    slack_settings,
)
from tests.slack_signing import event_envelope, message_event
from tests.slack_standin import SlackStandIn
from tests.socket_standin import SocketModeStandIn
from tests.test_slack_access import SALARY_MARKS, SALARY_Q, leaked

SET_PROMPTS = "assistant.threads.setSuggestedPrompts"
DEFAULT_PROMPTS = [
    {"title": "Annual leave", "message": "How many days of annual leave do I get?"},
    {"title": "Expenses", "message": "What can I expense when I travel for work?"},
    {"title": "Working from home", "message": "Can I work from home, and how often?"},
    {"title": "Parental leave", "message": "How much parental leave can I take?"},
]


def messages_tab(user: str, channel: str) -> dict[str, Any]:
    """``app_home_opened`` as Slack sends it when someone opens the app's Messages tab."""
    return {"type": "app_home_opened", "user": user, "channel": channel, "tab": "messages",
            "event_ts": next_ts()}


def thread_started(user: str, channel: str, thread_ts: str) -> dict[str, Any]:
    """``assistant_thread_started`` (the assistant view), in Slack's documented shape."""
    return {"type": "assistant_thread_started",
            "assistant_thread": {"user_id": user, "channel_id": channel, "thread_ts": thread_ts,
                                 "context": {"channel_id": "CGENERAL", "team_id": "T0TEST",
                                             "enterprise_id": None}},
            "event_ts": next_ts()}


def greetings(slack: SlackStandIn, channel: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage")
            if c.params.get("channel") == channel
            and c.params.get("text") == messages.AGENT_GREETING]


def answers(slack: SlackStandIn, channel: str) -> list[Any]:
    """The placeholders of answers in ``channel`` (the greeting is not one)."""
    return [c for c in slack.calls_to("chat.postMessage")
            if c.params.get("channel") == channel and c.params.get("text") == messages.WORKING]


def final_text(slack: SlackStandIn, channel: str) -> str:
    updates = [c for c in slack.calls_to("chat.update") if c.params["channel"] == channel]
    assert updates, f"no answer in {channel}: {slack.calls}"
    return str(updates[-1].params["text"])


# -- signed HTTP ------------------------------------------------------------------------


def test_opening_the_messages_tab_greets_once_and_sets_the_prompts_once(slack_bot: SlackBot
                                                                        ) -> None:
    for _ in range(2):  # two visits (two events), as when the tab is opened again later
        assert slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE")).status == 200
        slack_bot.settle()
    (greeting,) = greetings(slack_bot.slack, "DEMPLOYEE")
    assert not greeting.params.get("thread_ts")
    (call,) = slack_bot.slack.calls_to(SET_PROMPTS)
    assert call.ok, call.response
    assert call.params["channel_id"] == "DEMPLOYEE"
    # the agent view: no thread_ts (Slack's docs: with one, the call silently fails there)
    assert "thread_ts" not in call.params
    assert call.json("prompts") == DEFAULT_PROMPTS
    assert call.params["title"] == messages.SUGGESTED_PROMPTS_TITLE
    # they went to the latest message of the DM: the greeting just posted
    assert slack_bot.slack.suggested_prompts == {
        ("DEMPLOYEE", greeting.response["ts"]): {"title": messages.SUGGESTED_PROMPTS_TITLE,
                                                  "prompts": DEFAULT_PROMPTS}}
    assert not slack_bot.slack.calls_to("views.publish")  # the Home tab is another tab


def test_each_person_is_greeted_in_their_own_messages_tab(slack_bot: SlackBot) -> None:
    slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
    slack_bot.event(messages_tab(MANAGER, "DMANAGER"))
    slack_bot.settle()
    assert len(greetings(slack_bot.slack, "DEMPLOYEE")) == 1
    assert len(greetings(slack_bot.slack, "DMANAGER")) == 1
    assert {c.params["channel_id"] for c in slack_bot.slack.calls_to(SET_PROMPTS)} == {
        "DEMPLOYEE", "DMANAGER"}


def test_new_prompts_are_set_on_the_next_visit_without_a_second_greeting(
        slack_bot: SlackBot) -> None:
    from bot.settings import SuggestedPrompt

    slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
    slack_bot.settle()
    # a new configuration (as after a restart with other slack.suggested_prompts)
    slack_bot.svc.settings.slack.suggested_prompts = [
        SuggestedPrompt(title="Sick leave", message="How many sick days can I take?")]
    slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
    slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
    slack_bot.settle()
    assert len(greetings(slack_bot.slack, "DEMPLOYEE")) == 1
    first, second = slack_bot.slack.calls_to(SET_PROMPTS)
    assert first.json("prompts") == DEFAULT_PROMPTS
    assert second.json("prompts") == [{"title": "Sick leave",
                                       "message": "How many sick days can I take?"}]


def test_the_configured_prompts_are_what_slack_is_given(tmp_path: Path, indexed_handbook: Path,
                                                        embedder: Any) -> None:
    configured = ["How long is sick leave?",
                  {"title": "Laptops", "message": "Can I take my laptop abroad?"}]
    for bot in make_bot(tmp_path, indexed_handbook, embedder, suggested_prompts=configured):
        bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
        bot.settle()
        (call,) = bot.slack.calls_to(SET_PROMPTS)
        assert call.ok
        assert call.json("prompts") == [
            {"title": "How long is sick leave?", "message": "How long is sick leave?"},
            {"title": "Laptops", "message": "Can I take my laptop abroad?"}]


def test_a_new_assistant_thread_gets_the_prompts_and_the_person_one_greeting(
        slack_bot: SlackBot) -> None:
    roots = []
    for _ in range(2):
        root = next_ts()
        slack_bot.slack.add_message("DEMPLOYEE", root, "New chat", EMPLOYEE)  # Slack's root
        roots.append(root)
        assert slack_bot.event(thread_started(EMPLOYEE, "DEMPLOYEE", root)).status == 200
        slack_bot.settle()
    (greeting,) = greetings(slack_bot.slack, "DEMPLOYEE")
    assert greeting.params["thread_ts"] == roots[0]
    calls = slack_bot.slack.calls_to(SET_PROMPTS)
    assert [c.params.get("thread_ts") for c in calls] == roots  # each thread has its own
    assert all(c.ok and c.params["channel_id"] == "DEMPLOYEE" for c in calls)
    assert all(c.json("prompts") == DEFAULT_PROMPTS for c in calls)


def test_a_retried_visit_is_greeted_once(slack_bot: SlackBot) -> None:
    event = messages_tab(EMPLOYEE, "DEMPLOYEE")
    slack_bot.event(event, event_id="EvAGENTRETRY1")
    slack_bot.event(event, event_id="EvAGENTRETRY1", retry_num=1)
    slack_bot.settle()
    assert len(greetings(slack_bot.slack, "DEMPLOYEE")) == 1
    assert len(slack_bot.slack.calls_to(SET_PROMPTS)) == 1


def test_a_question_in_a_messages_tab_thread_is_answered_there_with_the_askers_audiences(
        slack_bot: SlackBot) -> None:
    root = next_ts()
    slack_bot.dm(SALARY_Q, user=MANAGER, channel="DMANAGER", thread_ts=root)
    slack_bot.settle()
    (placeholder,) = answers(slack_bot.slack, "DMANAGER")
    assert placeholder.params["thread_ts"] == root
    assert leaked(slack_bot, SALARY_MARKS), "control: a manager's DM uses the manager guide"
    slack_bot.slack.reset()
    slack_bot.dm(SALARY_Q, user=EMPLOYEE, channel="DEMPLOYEE", thread_ts=next_ts())
    slack_bot.settle()
    assert answers(slack_bot.slack, "DEMPLOYEE"), "the employee got no answer at all"
    assert leaked(slack_bot, SALARY_MARKS) == []


def test_a_follow_up_in_a_messages_tab_thread_keeps_the_thread(slack_bot: SlackBot) -> None:
    root = next_ts()
    slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
    slack_bot.dm("How many days of annual leave do I get?", thread_ts=root)
    slack_bot.settle()
    slack_bot.dm("Can I carry any of them over to next year?", thread_ts=root)
    slack_bot.settle()
    assert [p.params["thread_ts"] for p in answers(slack_bot.slack, "DEMPLOYEE")] == [root, root]
    assert "carry" in final_text(slack_bot.slack, "DEMPLOYEE").lower()
    stored = slack_bot.svc.history.thread_turns("DEMPLOYEE", root, limit=5)
    assert [r.question for r in stored][-1].startswith("Can I carry")


@pytest.mark.parametrize("error", ["not_allowed", "unknown_method", "ratelimited"])
def test_a_refused_set_suggested_prompts_never_blocks_answers(slack_bot: SlackBot,
                                                              error: str) -> None:
    slack_bot.slack.fail(SET_PROMPTS, error=error, times=None,
                         **({"status": 429} if error == "ratelimited" else {}))
    slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
    slack_bot.settle()
    refused = slack_bot.slack.calls_to(SET_PROMPTS)
    assert refused and not any(c.ok for c in refused)
    assert slack_bot.svc.metrics.slack_errors.labels(
        SET_PROMPTS, error)._value.get() == 1  # counted (and logged) once
    root = next_ts()
    slack_bot.dm("How many days of annual leave do I get?", thread_ts=root)
    slack_bot.settle()
    (placeholder,) = answers(slack_bot.slack, "DEMPLOYEE")
    assert placeholder.params["thread_ts"] == root
    assert "25" in final_text(slack_bot.slack, "DEMPLOYEE")


def test_a_refused_greeting_still_sets_the_prompts_and_answers(slack_bot: SlackBot) -> None:
    slack_bot.slack.add_message("DEMPLOYEE", next_ts(), "hello", EMPLOYEE)
    slack_bot.slack.fail("chat.postMessage", error="not_allowed", times=1)
    slack_bot.event(messages_tab(EMPLOYEE, "DEMPLOYEE"))
    slack_bot.settle()
    (call,) = slack_bot.slack.calls_to(SET_PROMPTS)
    assert call.ok
    slack_bot.dm("How many days of annual leave do I get?")
    slack_bot.settle()
    assert "25" in final_text(slack_bot.slack, "DEMPLOYEE")


@pytest.mark.parametrize(("prompts", "says"), [
    ([], "0 prompts given; Slack shows 1 to 4"),
    (["Q1?", "Q2?", "Q3?", "Q4?", "Q5?"], "5 prompts given; Slack shows 1 to 4"),
    ([{"title": "  ", "message": "How long is sick leave?"}], "suggested_prompts.0.title"),
    ([{"title": "Sick leave"}], "suggested_prompts.0.message"),
    ([{"title": "Sick leave", "message": "x", "emoji": ":pill:"}], "suggested_prompts.0.emoji"),
])
def test_suggested_prompts_slack_would_refuse_are_refused_at_load(prompts: list[Any],
                                                                   says: str) -> None:
    from pydantic import ValidationError

    from bot.settings import AppSettings

    with pytest.raises(ValidationError, match="suggested_prompts") as err:
        AppSettings(slack={"suggested_prompts": prompts})
    assert says in str(err.value)


def test_the_standin_answers_set_suggested_prompts_as_slack_documents() -> None:
    """The stand-in's refusals are the ones Slack documents, so the tests above mean
    something: a made-up thread, a channel with no message, more than four prompts."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    with SlackStandIn() as slack:
        client = WebClient(token=TOKEN, base_url=slack.url)
        one = [{"title": "Leave", "message": "How much leave do I get?"}]
        for kwargs, error in (({"channel_id": "DNONE", "prompts": one}, "message_not_found"),
                              ({"channel_id": "DX", "thread_ts": "1.000001", "prompts": one},
                               "invalid_thread_ts"),
                              ({"channel_id": "DX", "prompts": one * 5}, "invalid_arguments"),
                              ({"channel_id": "DX", "prompts": [{"title": "Leave"}]},
                               "invalid_arguments")):
            with pytest.raises(SlackApiError) as refused:
                client.assistant_threads_setSuggestedPrompts(**kwargs)
            assert refused.value.response["error"] == error
        slack.add_message("DX", "1.000001", "root", EMPLOYEE)
        assert client.assistant_threads_setSuggestedPrompts(
            channel_id="DX", thread_ts="1.000001", prompts=one, title="Try")["ok"]
        assert slack.suggested_prompts == {("DX", "1.000001"): {"title": "Try",
                                                                 "prompts": one}}


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    from tests.pg_server import create_database

    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return create_database(request.getfixturevalue("postgres_url"))


def test_replicas_greet_a_person_once_and_agree_on_new_prompts(state_url: str) -> None:
    """Two replicas (two BotHistory objects) record the same first visit at once: one of
    them greets. A later visit is quiet unless the prompts changed, and then only once."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.greeting_ledger import Visit
    from bot.history import BotHistory

    replicas = [BotHistory(state_url), BotHistory(state_url)]
    with ThreadPoolExecutor(8) as pool:
        visits = list(pool.map(lambda i: replicas[i % 2].greetings.visit("UONE", "a"),
                               range(8)))
    assert visits.count(Visit.FIRST) == 1
    assert set(visits) == {Visit.FIRST, Visit.AGAIN}
    assert replicas[0].greetings.visit("UTWO", "a") is Visit.FIRST  # per person
    assert replicas[1].greetings.visit("UONE", "b") is Visit.NEW_PROMPTS
    assert replicas[0].greetings.visit("UONE", "b") is Visit.AGAIN


# -- Socket Mode ------------------------------------------------------------------------

APP_TOKEN = "xapp-1-A0TEST-1-policybotsockettoken"


@dataclass
class SocketBot:
    wss: SocketModeStandIn
    slack: SlackStandIn
    svc: Any

    def event(self, event: dict[str, Any]) -> None:
        """Send an event and wait for the client's ack (bolt acks after the listener)."""
        envelope_id = self.wss.send_envelope(
            "events_api", event_envelope(event, f"Ev{next_ts().replace('.', '')}"))
        assert self.wss.wait_for_ack(envelope_id, timeout=10)["envelope_id"] == envelope_id

    def settle(self) -> None:
        from bot.slack.workers import drain

        assert drain((self.svc.workers, self.svc.notes), 60), "background work went on"


@pytest.fixture
def socket_bot(tmp_path: Path, indexed_handbook: Path, embedder: Any) -> Iterator[SocketBot]:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.settings import load_app_settings
    from bot.slack.app import build_app
    from bot.slack.client import web_client
    from bot.slack.services import Services
    from indexer.index import PolicyIndex

    shutil.copytree(indexed_handbook / "home", tmp_path / "home")
    shutil.copytree(indexed_handbook / "docs", tmp_path / "docs")
    (tmp_path / "extra").mkdir()
    settings = load_app_settings(None, **slack_settings(tmp_path, tmp_path / "docs"))
    with SocketModeStandIn() as wss, SlackStandIn(socket=wss,
                                                  usergroups={"SMANAGERS": [MANAGER]}) as slack:
        svc = Services.build(settings, web_client(TOKEN, slack.url),
                             PolicyIndex(settings, embedder=embedder))
        handler = SocketModeHandler(build_app(svc, None), APP_TOKEN, web_client=svc.client)
        handler.connect()
        try:
            wss.wait_for_connection(timeout=10)
            yield SocketBot(wss, slack, svc)
        finally:
            handler.close()  # the client first: a closed server would make it reconnect
            svc.close(grace_s=30)


def test_socket_mode_messages_tab_greets_once_and_answers_in_the_thread(
        socket_bot: SocketBot) -> None:
    for _ in range(2):
        socket_bot.event(messages_tab(MANAGER, "DMANAGER"))
        socket_bot.settle()
    assert len(greetings(socket_bot.slack, "DMANAGER")) == 1
    (call,) = socket_bot.slack.calls_to(SET_PROMPTS)
    assert call.ok and call.json("prompts") == DEFAULT_PROMPTS
    assert "thread_ts" not in call.params
    root = next_ts()
    socket_bot.event(message_event(SALARY_Q, MANAGER, "DMANAGER", next_ts(), root))
    socket_bot.settle()
    (placeholder,) = answers(socket_bot.slack, "DMANAGER")
    assert placeholder.params["thread_ts"] == root
    answer = final_text(socket_bot.slack, "DMANAGER")
    assert any(m in answer for m in SALARY_MARKS)  # the manager guide: the asker's audiences


def test_socket_mode_assistant_thread_and_a_refusal_that_blocks_nothing(
        socket_bot: SocketBot) -> None:
    socket_bot.slack.fail(SET_PROMPTS, error="not_allowed", times=None)
    root = next_ts()
    socket_bot.slack.add_message("DEMPLOYEE", root, "New chat", EMPLOYEE)
    socket_bot.event(thread_started(EMPLOYEE, "DEMPLOYEE", root))
    socket_bot.settle()
    (greeting,) = greetings(socket_bot.slack, "DEMPLOYEE")
    assert greeting.params["thread_ts"] == root
    (refused,) = socket_bot.slack.calls_to(SET_PROMPTS)
    assert refused.params["thread_ts"] == root and not refused.ok
    socket_bot.event(message_event("How many days of annual leave do I get?", EMPLOYEE,
                                   "DEMPLOYEE", next_ts(), root))
    socket_bot.settle()
    (placeholder,) = answers(socket_bot.slack, "DEMPLOYEE")
    assert placeholder.params["thread_ts"] == root
    assert "25" in final_text(socket_bot.slack, "DEMPLOYEE")
    socket_bot.event(message_event(SALARY_Q, EMPLOYEE, "DEMPLOYEE", next_ts(), root))
    socket_bot.settle()
    sent = "\n".join(str(c.params) for c in socket_bot.slack.calls)
    assert not [m for m in SALARY_MARKS if m in sent]  # an employee: no manager guide
