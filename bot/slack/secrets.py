"""Slack credentials, from the environment only, checked before anything starts.

A placeholder token would otherwise surface as an ``invalid_auth`` deep inside the first
request; failing at start with the variable's name is the message an admin can act on.
Values are never logged or echoed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from indexer.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
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
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL


def _checked(name: str, env: dict[str, str]) -> str:
    prefix, what = _RULES[name]
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: export it as {what}")
    if not value.startswith(prefix) or _PLACEHOLDER.search(value.removeprefix(prefix)):
        raise ConfigError(f"{name} looks like a placeholder or the wrong kind of secret; "
                          f"it must be {what}" + (f", starting with {prefix!r}" if prefix else ""))
    if name == "SLACK_SIGNING_SECRET" and not re.fullmatch(r"[0-9a-fA-F]{16,}", value):
        raise ConfigError(f"SLACK_SIGNING_SECRET must be {what}: a string of hex digits")
    return value


def bot_token_only(env: dict[str, str] | None = None) -> SlackSecrets | None:
    """For processes that only post (the standalone scheduler's stale-answer alerts):
    None when no bot token is configured at all."""
    env = dict(os.environ) if env is None else env
    if not env.get("SLACK_BOT_TOKEN", "").strip():
        return None
    api_url = env.get("POLICYBOT_SLACK_API_URL", "").strip() or DEFAULT_API_URL
    return SlackSecrets(bot_token=_checked("SLACK_BOT_TOKEN", env), signing_secret="",
                        api_url=api_url.rstrip("/") + "/")


def load_secrets(socket_mode: bool = False, env: dict[str, str] | None = None) -> SlackSecrets:
    """The secrets ``serve`` needs; ConfigError naming the first one missing or fake."""
    env = dict(os.environ) if env is None else env
    api_url = env.get("POLICYBOT_SLACK_API_URL", "").strip() or DEFAULT_API_URL
    if not re.match(r"^https?://[^/\s]+", api_url):
        raise ConfigError(f"POLICYBOT_SLACK_API_URL must be an http(s) URL, got {api_url!r}")
    return SlackSecrets(
        bot_token=_checked("SLACK_BOT_TOKEN", env),
        # Socket Mode needs no signing secret: Slack's own connection authenticates.
        signing_secret=(_checked("SLACK_SIGNING_SECRET", env) if not socket_mode
                        else env.get("SLACK_SIGNING_SECRET", "")),
        app_token=_checked("SLACK_APP_TOKEN", env) if socket_mode else None,
        api_url=api_url.rstrip("/") + "/")
