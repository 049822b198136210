"""Requests as Slack sends them to PolicyBot's HTTP endpoint: signed, in Slack's shapes.

PolicyBot's HTTP mode only acts on requests whose ``X-Slack-Signature`` checks out, and
slack-bolt routes them by the exact payload shape (``type``, ``actions[0].action_id``,
``view.callback_id``, ...). Tests therefore need bodies that look like Slack's and
signatures computed the way Slack computes them, so that the real verification and
routing code runs instead of being patched out.

Body builders return ``(body_bytes, content_type)``; pass both to :func:`signed` for
the headers. Payload builders (``block_action``, ``view_submission``, ...) return dicts
that work both for :func:`action_body` (HTTP) and as Socket Mode envelope payloads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "policybot-test"
APP_ID = "A0TEST"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
VERIFICATION_TOKEN = "policybot-verification-token"
# Where a response_url points when a test does not pass one: the closed discard port on
# loopback, so code that answers through it fails at once instead of trying the internet.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response/unset"

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` for ``body``.

    The signature is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed with
    the signing secret. Verifiers reject timestamps more than five minutes off, so pass
    an old ``timestamp`` to test replay protection.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode("ascii") + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def signed(
    secret: str,
    body: bytes,
    content_type: str,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """All headers of a Slack request: signature, ``Content-Type`` and retry headers.

    Slack redelivers an event it got no timely 200 for, adding ``X-Slack-Retry-Num``
    and ``X-Slack-Retry-Reason``; pass ``retry_num`` to test that PolicyBot does not
    answer the same question twice.
    """
    headers = {"Content-Type": content_type, **sign(secret, body, timestamp)}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


# -- Events API -------------------------------------------------------------------------


def bot_authorizations(team_id: str = TEAM_ID) -> list[dict[str, Any]]:
    """The ``authorizations`` Slack puts in an event for a single-workspace bot install."""
    return [{
        "enterprise_id": None,
        "team_id": team_id,
        "user_id": BOT_USER_ID,
        "is_bot": True,
        "is_enterprise_install": False,
    }]


def event_envelope(
    event: dict[str, Any],
    event_id: str,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    authorizations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An ``event_callback`` envelope; also the payload of a Socket Mode ``events_api``."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": authorizations if authorizations is not None
        else bot_authorizations(team_id),
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def event_body(
    event: dict[str, Any],
    event_id: str,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    authorizations: list[dict[str, Any]] | None = None,
) -> tuple[bytes, str]:
    """An Events API request body (JSON), ready for :func:`signed`."""
    envelope = event_envelope(event, event_id, team_id, api_app_id, authorizations)
    return json.dumps(envelope).encode("utf-8"), JSON


def url_verification_body(challenge: str = "policybot-challenge") -> tuple[bytes, str]:
    """The request Slack sends once when the Events API Request URL is set."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body).encode("utf-8"), JSON


def app_mention(
    text: str,
    user: str,
    channel: str,
    ts: str,
    thread_ts: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """An ``app_mention`` event; ``text`` should contain ``<@UBOT>`` as Slack's does."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "team": team_id,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def message_event(
    text: str,
    user: str,
    channel: str,
    ts: str,
    thread_ts: str | None = None,
    channel_type: str = "im",
    team_id: str = TEAM_ID,
    bot_id: str | None = None,
) -> dict[str, Any]:
    """A ``message`` event (a direct message by default); ``bot_id`` marks a bot's post."""
    event = {**app_mention(text, user, channel, ts, thread_ts, team_id), "type": "message",
             "channel_type": channel_type}
    if bot_id is not None:
        event["bot_id"] = bot_id
    return event


# -- slash commands ---------------------------------------------------------------------


def command_payload(
    text: str,
    user_id: str,
    channel_id: str,
    command: str = "/policy",
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str = "1337.42.command",
    team_id: str = TEAM_ID,
) -> dict[str, str]:
    """A slash command's fields; also the payload of a Socket Mode ``slash_commands``."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def command_body(
    text: str,
    user_id: str,
    channel_id: str,
    command: str = "/policy",
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str = "1337.42.command",
    team_id: str = TEAM_ID,
) -> tuple[bytes, str]:
    """A slash command request body, form-urlencoded as Slack sends it.

    Beware: slack-bolt's body parser treats any form body containing the substring
    ``payload`` as an interactivity payload, so a command whose text contains that word
    reaches PolicyBot as an empty body.
    """
    fields = command_payload(text, user_id, channel_id, command, response_url, trigger_id,
                             team_id)
    return urlencode(fields).encode("utf-8"), FORM


# -- interactivity ----------------------------------------------------------------------


def action_body(payload: dict[str, Any]) -> tuple[bytes, str]:
    """An interactivity request body: form field ``payload`` holding the JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8"), FORM


def _user(user_id: str, team_id: str) -> dict[str, str]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def block_action(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str | None = None,
    message_ts: str | None = None,
    trigger_id: str = "1337.42",
    view: dict[str, Any] | None = None,
    container: dict[str, Any] | None = None,
    response_url: str | None = None,
    block_id: str = "policybot_actions",
    action_type: str = "button",
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A ``block_actions`` payload for one clicked element.

    With ``channel_id`` and ``message_ts`` it comes from a message (and, like Slack's,
    carries a ``response_url``: pass ``slack.response_url()`` to capture answers through
    it); with ``view`` it comes from a modal or App Home view.
    """
    now = f"{time.time():.6f}"
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "action_ts": now,
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": value, "emoji": True}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [action],
    }
    if view is not None:
        payload["container"] = container or {"type": "view", "view_id": view.get("id", "")}
        payload["view"] = view
    elif channel_id is not None:
        payload["container"] = container or {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "general"}
        if message_ts is not None:
            payload["message"] = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "ts": message_ts,
                "text": "",
                "team": team_id,
            }
        payload["response_url"] = response_url or UNSET_RESPONSE_URL
    elif container is not None:
        payload["container"] = container
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def view_submission(
    callback_id: str,
    private_metadata: str,
    user_id: str,
    values: dict[str, dict[str, Any]],
    view_id: str = "V0TEST",
    response_urls: list[dict[str, str]] | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A ``view_submission`` payload for a submitted modal.

    ``values`` is ``view.state.values``: ``{block_id: {action_id: state}}``. A plain
    string ``state`` is shorthand for a ``plain_text_input`` holding that text.
    """
    state = {
        block_id: {
            action_id: {"type": "plain_text_input", "value": v} if isinstance(v, str) else v
            for action_id, v in actions.items()
        }
        for block_id, actions in values.items()
    }
    view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": state},
        "hash": f"{int(time.time())}.policybot",
        "title": {"type": "plain_text", "text": "PolicyBot", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": "1337.42.view",
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
