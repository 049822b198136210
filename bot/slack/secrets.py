"""Slack credentials, from the settings (``slack.*``), checked before anything starts.

They are read like every other setting (``bot/settings.py``: ``SLACK_BOT_TOKEN``,
``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN``, ``POLICYBOT_SLACK_API_URL`` or the
``POLICYBOT_SLACK__*`` names) and held as ``SecretStr``. A placeholder token would
otherwise surface as an ``invalid_auth`` deep inside the first request; failing at start
with the variable's name is the message an admin can act on. Values are never logged or
echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import SecretStr

from bot.settings import DEFAULT_SLACK_API_URL, SlackSettings
from indexer.errors import ConfigError

_PLACEHOLDER = re.compile(r"your|change.?me|example|placeholder|xxx|\.\.\.|…|<|>|\s",
                          re.IGNORECASE)
_WHERE = "https://api.slack.com/apps → your app"
_RULES = {
    "SLACK_BOT_TOKEN": ("xoxb-", f"the Bot User OAuth Token ({_WHERE} → OAuth & Permissions)"),
    "SLACK_SIGNING_SECRET": ("", f"the Signing Secret ({_WHERE} → Basic Information)"),
    "SLACK_APP_TOKEN": ("xapp-", f"an app-level token with connections:write ({_WHERE} → "
                                 "Basic Information → App-Level Tokens)"),
}


@dataclass(frozen=True)
class SlackSecrets:
    """The checked values, revealed only for the Slack clients that send them."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_SLACK_API_URL


def _checked(name: str, secret: SecretStr | None) -> str:
    prefix, what = _RULES[name]
    value = secret.get_secret_value().strip() if secret is not None else ""
    if not value:
        raise ConfigError(f"{name} is not set: export it as {what}")
    if not value.startswith(prefix) or _PLACEHOLDER.search(value.removeprefix(prefix)):
        raise ConfigError(f"{name} looks like a placeholder or the wrong kind of secret; "
                          f"it must be {what}" + (f", starting with {prefix!r}" if prefix else ""))
    if name == "SLACK_SIGNING_SECRET" and not re.fullmatch(r"[0-9a-fA-F]{16,}", value):
        raise ConfigError(f"SLACK_SIGNING_SECRET must be {what}: a string of hex digits")
    return value


def bot_token_only(slack: SlackSettings) -> SlackSecrets | None:
    """For processes that only post (the standalone scheduler's stale-answer alerts):
    None when no bot token is configured at all."""
    if slack.bot_token is None or not slack.bot_token.get_secret_value().strip():
        return None
    return SlackSecrets(bot_token=_checked("SLACK_BOT_TOKEN", slack.bot_token),
                        signing_secret="", api_url=slack.api_url)


def load_secrets(slack: SlackSettings, socket_mode: bool = False) -> SlackSecrets:
    """The secrets ``serve`` needs; ConfigError naming the first one missing or fake."""
    signing = slack.signing_secret
    return SlackSecrets(
        bot_token=_checked("SLACK_BOT_TOKEN", slack.bot_token),
        # Socket Mode needs no signing secret: Slack's own connection authenticates.
        signing_secret=(_checked("SLACK_SIGNING_SECRET", signing) if not socket_mode
                        else signing.get_secret_value() if signing else ""),
        app_token=_checked("SLACK_APP_TOKEN", slack.app_token) if socket_mode else None,
        api_url=slack.api_url)
