"""A PolicyBot Slack app over the sample handbook, talking to the Slack stand-in.

The handbook is indexed once per session and copied into each test's home, so every test
gets a real index (real LanceDB, real model) without paying for the embedding again.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.slack.workers import drain
from tests.slack_signing import (
    action_body,
    app_mention,
    block_action,
    command_body,
    event_body,
    message_event,
    signed,
)
from tests.slack_standin import SlackStandIn

SECRET = "8f742231b10e8888abcd99b1c3a4d5e6"
TOKEN = "xoxb-17-42-policybottesttoken"
GENERAL = "CGENERAL"  # a public channel with no channel settings
HR_ONLY = "CHRTEAM"  # a channel allowed the handbook source only
NOWHERE = "CNOSRC"  # a channel allowed no source at all
MANAGER, HR_PERSON, EMPLOYEE, ADMIN, GROUP_ADMIN = "UMANAGER", "UHRPERSON", "UEMPLOYEE", \
    "UADMIN", "UGROUPADMIN"
_ts = itertools.count(1)


def next_ts() -> str:
    return f"1700001{next(_ts):03d}.000200"


def slack_settings(tmp_path: Path, source_dir: Path, **slack: Any) -> dict[str, Any]:
    return {
        "home": tmp_path / "home",
        "sources": [{"name": "handbook", "type": "directory", "path": str(source_dir)},
                    {"name": "extra", "type": "directory", "path": str(tmp_path / "extra")}],
        # streaming "off": these tests pin the placeholder-and-update path (the fallback
        # where a workspace refuses native streaming); tests/test_slack_native_stream.py
        # asks for "auto", the default, and covers the streamed answers.
        "slack": {"admins": [ADMIN], "admin_group": "SADMINS", "stream_interval_s": 0.2,
                  "streaming": "off",
                  "audiences": {"managers": {"usergroups": ["SMANAGERS"]},
                                "hr": {"users": [HR_PERSON]}},
                  "run_scheduler": False, **slack},
        "channels": [{"id": HR_ONLY, "sources": ["handbook"]},
                     {"id": NOWHERE, "sources": []}],
    }


@pytest.fixture(scope="session")
def indexed_handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    """A home with the sample handbook indexed (source ``handbook``), built once."""
    from bot.settings import load_app_settings
    from indexer.index import PolicyIndex
    from indexer.sample import SAMPLE_DIR

    root = tmp_path_factory.mktemp("handbook")
    shutil.copytree(SAMPLE_DIR, root / "docs")
    (root / "extra").mkdir()
    settings = load_app_settings(None, **slack_settings(root, root / "docs"))
    PolicyIndex(settings, embedder=embedder).sync()
    return root


@dataclass
class SlackBot:
    """The app under test plus the stand-in it talks to, and ways to send it requests."""

    app: Any
    svc: Any
    slack: SlackStandIn
    docs: Path
    secret: str = SECRET
    sent: list[Any] = field(default_factory=list)

    def dispatch(self, body: bytes, content_type: str, **sign: Any) -> Any:
        from bot.slack.requests import bolt_request

        headers = signed(self.secret, body, content_type, **sign)
        return self.app.dispatch(bolt_request(body.decode(), headers=headers))

    def event(self, event: dict[str, Any], event_id: str | None = None, **sign: Any) -> Any:
        body, ctype = event_body(event, event_id or f"Ev{next_ts().replace('.', '')}")
        return self.dispatch(body, ctype, **sign)

    def mention(self, text: str, user: str = EMPLOYEE, channel: str = GENERAL,
                thread_ts: str | None = None, ts: str | None = None, **kw: Any) -> Any:
        return self.event(app_mention(f"<@UBOT> {text}", user, channel, ts or next_ts(),
                                      thread_ts), **kw)

    def dm(self, text: str, user: str = EMPLOYEE, channel: str = "DEMPLOYEE",
           thread_ts: str | None = None, **kw: Any) -> Any:
        return self.event(message_event(text, user, channel, next_ts(), thread_ts,
                                        channel_type="im"), **kw)

    def reply(self, text: str, thread_ts: str, user: str = EMPLOYEE,
              channel: str = GENERAL, **kw: Any) -> Any:
        return self.event(message_event(text, user, channel, next_ts(), thread_ts,
                                        channel_type="channel"), **kw)

    def command(self, text: str, user: str = EMPLOYEE, channel: str = GENERAL,
                name: str | None = None) -> tuple[Any, str]:
        """Returns (response, response name) — the stand-in records response_url posts
        under that name."""
        name = name or f"r{next_ts().replace('.', '')}"
        body, ctype = command_body(text, user, channel,
                                   response_url=self.slack.response_url(name))
        return self.dispatch(body, ctype), name

    def click(self, action_id: str, value: str, user: str = EMPLOYEE,
              channel: str | None = GENERAL, **kw: Any) -> tuple[Any, str]:
        name = f"a{next_ts().replace('.', '')}"
        payload = block_action(action_id, value, user, channel_id=channel,
                               response_url=self.slack.response_url(name), **kw)
        body, ctype = action_body(payload)
        return self.dispatch(body, ctype), name

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every queued answer and sync has finished."""
        if not drain((self.svc.workers, self.svc.syncs, self.svc.notes), timeout):
            raise AssertionError("background work did not finish")

    def responses(self, name: str) -> list[Any]:
        return [c for c in self.slack.calls_to("response_url") if c.params.get("_name") == name]

    def posted(self, channel: str | None = None) -> list[Any]:
        """chat.postMessage / chat.update calls, optionally to one channel."""
        calls = self.slack.calls_to("chat.postMessage") + self.slack.calls_to("chat.update")
        return [c for c in calls if channel is None or c.params.get("channel") == channel]


def make_bot(tmp_path: Path, home: Path, embedder: Any, top: dict[str, Any] | None = None,
             **slack: Any) -> Iterator[SlackBot]:
    """``top``: other settings (generator, adapters, channels) over the defaults."""
    from bot.settings import load_app_settings
    from bot.slack.app import build_app
    from bot.slack.client import web_client
    from bot.slack.services import Services
    from indexer.index import PolicyIndex

    shutil.copytree(home / "home", tmp_path / "home")
    shutil.copytree(home / "docs", tmp_path / "docs")
    (tmp_path / "extra").mkdir()
    settings = load_app_settings(None, **{**slack_settings(tmp_path, tmp_path / "docs", **slack),
                                          **(top or {})})
    standin = SlackStandIn(usergroups={"SMANAGERS": [MANAGER], "SADMINS": [GROUP_ADMIN]})
    standin.start()
    svc = Services.build(settings, web_client(TOKEN, standin.url),
                         PolicyIndex(settings, embedder=embedder))
    app = build_app(svc, SECRET)
    try:
        yield SlackBot(app, svc, standin, tmp_path / "docs")
    finally:
        drain((svc.workers, svc.syncs, svc.notes), 30)
        svc.close()
        standin.stop()


@pytest.fixture
def slack_bot(tmp_path: Path, indexed_handbook: Path, embedder: Any) -> Iterator[SlackBot]:
    yield from make_bot(tmp_path, indexed_handbook, embedder)
