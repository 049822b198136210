"""Forged and replayed requests are rejected before anything runs; secrets fail fast."""

from __future__ import annotations

import logging
import time

import pytest

from bot.settings import SLACK_ENV, load_app_settings
from bot.slack.secrets import SlackSecrets, load_secrets
from indexer.errors import ConfigError
from tests.slack_fixtures import SECRET, TOKEN, SlackBot
from tests.slack_signing import app_mention, command_body, event_body


def _mention() -> tuple[bytes, str]:
    return event_body(app_mention("<@UBOT> secret-question-text-1234", "UEMPLOYEE",
                                  "CGENERAL", "1700003000.000100"), "EvFORGED")


@pytest.mark.parametrize("attack", ["wrong secret", "replayed", "unsigned", "tampered"])
def test_forged_requests_get_401_and_are_logged_without_their_body(
        slack_bot: SlackBot, caplog: pytest.LogCaptureFixture, attack: str) -> None:
    from bot.slack.requests import bolt_request
    from tests.slack_signing import signed

    body, ctype = _mention()
    if attack == "wrong secret":
        headers = signed("0" * 32, body, ctype)
    elif attack == "replayed":
        headers = signed(SECRET, body, ctype, timestamp=int(time.time()) - 6 * 60)
    elif attack == "unsigned":
        headers = {"Content-Type": ctype}
    else:
        headers = signed(SECRET, body, ctype)
        body = body.replace(b"secret-question", b"another-question")
    with caplog.at_level(logging.DEBUG):
        response = slack_bot.app.dispatch(bolt_request(body.decode(), headers=headers))
    slack_bot.settle()
    assert response.status == 401
    assert not slack_bot.posted()
    assert slack_bot.svc.history.claim_event("event:EvFORGED"), "the forged event was not seen"
    assert "question-text-1234" not in caplog.text


def test_a_fresh_signed_request_is_accepted(slack_bot: SlackBot) -> None:
    body, ctype = command_body("help", "UEMPLOYEE", "CGENERAL")
    assert slack_bot.dispatch(body, ctype).status == 200


VALID = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}


def secrets_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                 socket_mode: bool = False) -> SlackSecrets:
    """What ``serve`` would start with, the settings read from exactly ``env``."""
    for name in SLACK_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_secrets(load_app_settings().slack, socket_mode)


@pytest.mark.parametrize(("env", "named"), [
    ({}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-your-bot-token", "SLACK_SIGNING_SECRET": SECRET},
     "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxp-1-2-3", "SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": TOKEN}, "SLACK_SIGNING_SECRET"),
    ({**VALID, "SLACK_SIGNING_SECRET": "changeme"}, "SLACK_SIGNING_SECRET"),
    ({**VALID, "POLICYBOT_SLACK_API_URL": "slack.internal"}, "POLICYBOT_SLACK_API_URL"),
])
def test_missing_or_placeholder_secrets_fail_fast_naming_the_variable(
        env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=named) as err:
        secrets_from(env, monkeypatch)
    for value in env.values():  # the message never echoes a secret
        if value not in (TOKEN, SECRET):
            continue
        assert value not in str(err.value)


def test_socket_mode_needs_an_app_token_but_no_signing_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        secrets_from({"SLACK_BOT_TOKEN": TOKEN}, monkeypatch, socket_mode=True)
    secrets = secrets_from({"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "xapp-1-A0-123-abc"},
                           monkeypatch, socket_mode=True)
    assert secrets.app_token and "xapp" not in repr(secrets)
    gov = secrets_from({**VALID, "POLICYBOT_SLACK_API_URL": "https://slack-gov.com/api"},
                       monkeypatch)
    assert gov.api_url == "https://slack-gov.com/api/"
