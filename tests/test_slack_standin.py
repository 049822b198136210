"""The Slack stand-ins behave like Slack towards the real slack_sdk and slack-bolt clients.

PolicyBot's Slack tests trust these stand-ins to answer, fail and sign like Slack; these
tests check that with the unpatched clients, so a stand-in bug cannot hide a bot bug.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from tests import slack_signing
from tests.slack_signing import sign, signed
from tests.slack_standin import SlackStandIn
from tests.socket_standin import SocketModeStandIn

SECRET = "policybot-signing-secret"


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    """Every stand-in and client a test starts is gone when the test ends."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3
    while (extra := set(threading.enumerate()) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not extra, f"threads left running: {sorted(t.name for t in extra)}"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def test_posted_messages_come_back_in_the_thread(slack: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.url)
    slack.add_message("C1", "1699999999.000100", "How many leave days?", "U1")

    reply = client.chat_postMessage(channel="C1", text="25 days", thread_ts="1699999999.000100",
                                    blocks=[{"type": "section",
                                             "text": {"type": "mrkdwn", "text": "25 days"}}])
    client.chat_update(channel="C1", ts=reply["ts"], text="25 days a year")
    slack.add_message("C1", "1700000999.000001", "thanks", "U1", thread_ts="1699999999.000100")

    replies = client.conversations_replies(channel="C1", ts="1699999999.000100")
    assert [m["text"] for m in replies["messages"]] == [
        "How many leave days?", "25 days a year", "thanks"]
    assert replies["messages"][1]["bot_id"] == "BBOT"
    assert replies["messages"][0]["reply_count"] == 2
    post = slack.wait_for("chat.postMessage")[0]
    assert post.token == "xoxb-test"
    assert post.json("blocks")[0]["text"]["text"] == "25 days"
    assert post.response["ts"] == reply["ts"]
    link = client.chat_getPermalink(channel="C1", message_ts=reply["ts"])["permalink"]
    archive = "https://policybot-test.slack.com/archives/C1/p" + reply["ts"].replace(".", "")
    assert link == f"{archive}?thread_ts=1699999999.000100&cid=C1"
    assert client.auth_test()["user_id"] == "UBOT"


def test_rate_limit_is_retried_after_retry_after(slack: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    slack.fail("chat.postMessage", status=429, retry_after=1)

    assert client.chat_postMessage(channel="C1", text="hello")["ok"]

    first, second = slack.calls_to("chat.postMessage")
    assert (first.status, first.response["error"]) == (429, "ratelimited")
    assert second.ok
    assert second.at - first.at >= 0.95


def test_injected_and_protocol_errors_raise(slack: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.url)
    slack.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C404", text="hi")
    assert err.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]  # times=1: next one works

    slack.fail("users.info", status=500)
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U1")
    assert err.value.response.status_code == 500

    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=slack.url).auth_test()
    assert err.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as err:
        client.api_call("policy.nonexistent")
    assert err.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError) as err:
        client.usergroups_users_list(usergroup="S404")
    assert err.value.response["error"] == "no_such_subteam"
    with pytest.raises(AssertionError, match="chat.postMessage status=200"):
        slack.wait_for("reactions.add", timeout=0.05)


def test_conversations_members_pages_like_slack(slack: SlackStandIn) -> None:
    """slack_sdk's own paginator (it follows ``response_metadata.next_cursor``) walks the
    stand-in's pages to the end; bad cursors, limits and unknown channels fail as Slack's."""
    client = WebClient(token="xoxb-test", base_url=slack.url)
    slack.channels["CBIG"] = [f"U{i:04d}" for i in range(250)]
    seen, cursors = [], []
    for page in client.conversations_members(channel="CBIG", limit=100):  # one object,
        seen.append(list(page["members"]))  # updated in place page after page
        cursors.append(page["response_metadata"]["next_cursor"])
    assert [len(p) for p in seen] == [100, 100, 50]
    assert [m for p in seen for m in p] == slack.channels["CBIG"]
    assert cursors[-1] == "" and all(cursors[:-1])
    for bad, error in ((dict(channel="CNOPE"), "channel_not_found"),
                       (dict(channel="CBIG", limit=1000), "invalid_limit"),
                       (dict(channel="CBIG", cursor="bm90LWEtY3Vyc29y"), "invalid_cursor")):
        with pytest.raises(SlackApiError) as err:
            client.conversations_members(**bad)
        assert err.value.response["error"] == error


def test_signature_matches_slack_sdk_verifier() -> None:
    body, content_type = slack_signing.event_body({"type": "app_mention", "text": "hi"}, "Ev1")
    verifier = SignatureVerifier(SECRET)

    assert verifier.is_valid_request(body, sign(SECRET, body))
    assert verifier.is_valid_request(body, signed(SECRET, body, content_type, retry_num=1))
    assert not verifier.is_valid_request(body + b" ", sign(SECRET, body))
    assert not verifier.is_valid_request(body, sign(SECRET, body, int(time.time()) - 600))


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    """bolt's listener threads; its default executor outlives the App until garbage collection."""
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True)


def test_bolt_routes_signed_requests_and_replies_through_the_standin(
    slack: SlackStandIn, executor: ThreadPoolExecutor
) -> None:
    app = App(client=WebClient(token="xoxb-test", base_url=slack.url), signing_secret=SECRET,
              listener_executor=executor)
    seen: list[str] = []

    @app.event("app_mention")
    def mention(event: dict, say: object) -> None:
        say(text="answer", thread_ts=event["ts"])  # type: ignore[operator]

    @app.command("/policy")
    def command(ack: object, command: dict, respond: object) -> None:
        ack()  # type: ignore[operator]
        respond(text=f"about {command['text']}")  # type: ignore[operator]

    @app.action("helpful")
    def action(ack: object, action: dict) -> None:
        ack()  # type: ignore[operator]
        seen.append(action["value"])

    @app.view("feedback")
    def view(ack: object, view: dict) -> None:
        ack()  # type: ignore[operator]
        seen.append(view["state"]["values"]["b"]["a"]["value"])

    def dispatch(body_and_type: tuple[bytes, str]) -> int:
        body, content_type = body_and_type
        request = BoltRequest(body=body.decode(), headers=signed(SECRET, body, content_type))
        return app.dispatch(request).status

    mention_event = slack_signing.app_mention("<@UBOT> leave?", "U1", "C1", "1699999999.000100")
    assert dispatch(slack_signing.event_body(mention_event, "Ev1")) == 200
    assert dispatch(slack_signing.command_body("leave", "U1", "C1",
                                               response_url=slack.response_url("cmd"))) == 200
    assert dispatch(slack_signing.action_body(
        slack_signing.block_action("helpful", "yes", "U1", "C1", "1700000000.000100"))) == 200
    assert dispatch(slack_signing.action_body(
        slack_signing.view_submission("feedback", "{}", "U1", {"b": {"a": "great"}}))) == 200

    assert slack.wait_for("chat.postMessage")[0].params["thread_ts"] == "1699999999.000100"
    assert slack.wait_for("response_url")[0].params == {"text": "about leave", "_name": "cmd"}
    assert seen == ["yes", "great"]


def test_socket_mode_client_connects_and_acks_envelopes() -> None:
    with SocketModeStandIn() as server, SlackStandIn(socket=server) as slack:
        client = SocketModeClient(app_token="xapp-test",
                                  web_client=WebClient(token="xoxb-test", base_url=slack.url))
        messages: list[dict] = []
        client.message_listeners.append(lambda _c, message, _raw: messages.append(message))

        def ack(c: SocketModeClient, request: SocketModeRequest) -> None:
            c.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

        client.socket_mode_request_listeners.append(ack)
        try:
            client.connect()
            envelope = slack_signing.event_envelope({"type": "app_mention", "text": "hi"}, "Ev1")
            envelope_id = server.send_envelope("events_api", envelope)
            assert server.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
        finally:
            client.close()
        opened = slack.calls_to("apps.connections.open")
        assert len(opened) == 1 and opened[0].token == "xapp-test"
        assert server.connections[0].ticket in opened[0].response["url"]
        assert messages[0]["type"] == "hello"
        assert messages[1]["payload"]["event_id"] == "Ev1"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_bolt_socket_mode_handler_answers_an_event(executor: ThreadPoolExecutor) -> None:
    with SocketModeStandIn() as server, SlackStandIn(socket=server) as slack:
        app = App(client=WebClient(token="xoxb-test", base_url=slack.url),
                  signing_secret=SECRET, listener_executor=executor)

        @app.event("app_mention")
        def mention(event: dict, say: object) -> None:
            say(text="answer", thread_ts=event["ts"])  # type: ignore[operator]

        handler = SocketModeHandler(app, app_token="xapp-test")
        try:
            handler.connect()
            event = slack_signing.app_mention("<@UBOT> hi", "U1", "C1", "1699999999.000100")
            envelope_id = server.send_envelope("events_api",
                                               slack_signing.event_envelope(event, "Ev1"))
            server.wait_for_ack(envelope_id)
            slack.wait_for("chat.postMessage", where=lambda c: c.params["text"] == "answer")
        finally:
            handler.close()
