"""The Slack app manifest asks for exactly what the code uses.

A listener registered without its event subscription never fires, and a Web API call
without its scope fails with ``missing_scope`` only in a real workspace, so neither would
show up in the other tests, which talk to a stand-in that grants everything. A scope the
code no longer needs is one more permission a workspace admin must approve for nothing.
The listeners and calls are read from the source with ``ast``, so the test follows the
code without a Slack connection.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.slack.http import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "deploy" / "slack" / "manifest.yaml"
SLACK_CODE = ROOT / "bot" / "slack"

# Web API methods (as slack_sdk's WebClient names them) → the bot scope each needs (a
# tuple: one per kind of conversation the bot uses it on). None: Slack requires no scope
# for it. A call missing here fails the test on purpose.
METHOD_SCOPES: dict[str, str | tuple[str, ...] | None] = {
    "auth_test": None,
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_delete": "chat:write",
    "usergroups_users_list": "usergroups:read",
    "users_info": "users:read",
    # conversations.members needs channels:read, groups:read, im:read or mpim:read by the
    # conversation's kind; /policy cite checks public and private channels (a DM answer
    # is its asker's, no lookup), so links into group DMs are refused for want of mpim:read
    "conversations_members": ("channels:read", "groups:read"),
    "reactions_add": "reactions:write",
    "reactions_remove": "reactions:write",
    "conversations_open": "im:write",
    "views_open": None,
    "views_publish": None,
    "views_update": None,
    # agent view (issue 12): the Messages tab's starter prompts
    "assistant_threads_setSuggestedPrompts": "assistant:write",
    # streaming and status (issue 12): each is chat:write on docs.slack.dev
    "chat_startStream": "chat:write",
    "chat_appendStream": "chat:write",
    "chat_stopStream": "chat:write",
    "assistant_threads_setStatus": "chat:write",
    "agents_sessions_setStatus": "chat:write",
}
# Bot events → the scope Slack requires to deliver each.
EVENT_SCOPES: dict[str, str | None] = {
    "app_mention": "app_mentions:read",
    "app_home_opened": None,
    "message.im": "im:history",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.mpim": "mpim:history",
    "assistant_thread_started": None,  # Slack's docs: "No scopes required"
    "agent_session_stopped": None,  # its reference lists no scope (issue 12)
}
# bolt's ``@app.event("message")`` hears every message event the app subscribes to; the
# bot answers DMs and follow-ups in public and private channel threads.
MESSAGE_EVENTS = {"message.im", "message.channels", "message.groups"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "the manifest must be a YAML mapping"
    return data


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SLACK_CODE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _registered() -> dict[str, set[str]]:
    """``{"event": {...}, "command": {...}, "action": {...}, ...}`` from ``@app.X("name")``."""
    found: dict[str, set[str]] = {}
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                        and isinstance(deco.func.value, ast.Name)
                        and deco.func.value.id == "app"):
                    continue
                kind = deco.func.attr
                if kind in ("use", "middleware", "error"):
                    continue
                arg = deco.args[0] if deco.args else None
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), \
                    f"{path}:{deco.lineno}: @app.{kind} needs a literal name for this test"
                found.setdefault(kind, set()).add(arg.value)
    return found


def _web_api_calls() -> dict[str, list[str]]:
    """``client.method(...)`` / ``svc.client.method(...)`` calls → where each is made."""
    calls: dict[str, list[str]] = {}
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            is_client = (isinstance(owner, ast.Name) and owner.id == "client") or (
                isinstance(owner, ast.Attribute) and owner.attr == "client")
            if is_client:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                calls.setdefault(node.func.attr, []).append(where)
    return calls


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.netloc, f"not a public https URL: {url}"
    return parts.path


def test_manifest_parses_with_the_schema_sections(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"]["major_version"] == 2
    assert manifest["display_information"]["name"]
    assert len(manifest["display_information"]["description"]) <= 140  # Slack's limit
    assert manifest["features"]["bot_user"]["display_name"]
    assert set(manifest["settings"]) >= {"event_subscriptions", "interactivity",
                                         "socket_mode_enabled"}


def test_bot_events_are_exactly_the_ones_the_app_listens_to(manifest: dict[str, Any]) -> None:
    events = _registered()["event"]
    expected = {e for e in events if e != "message"} | (MESSAGE_EVENTS if "message" in events
                                                         else set())
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == expected


def test_app_home_tabs_match_the_listeners(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert home["home_tab_enabled"] is ("app_home_opened" in events)
    # DMs are answered, so people must be able to write in the Messages tab.
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False


def test_slash_command_is_policy_at_the_events_path(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert {c["command"] for c in commands} == _registered()["command"] == {"/policy"}
    (policy,) = commands
    assert _path(policy["url"]) == EVENTS_PATH
    assert all(word in policy["usage_hint"]
               for word in ("cite", "refresh", "reindex", "status", "help"))
    assert len(policy["description"]) <= 100


def test_interactivity_and_events_go_to_the_events_path(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    registered = _registered()
    assert registered.get("action") or registered.get("view")  # buttons and a modal exist
    assert settings["interactivity"]["is_enabled"] is True
    assert _path(settings["interactivity"]["request_url"]) == EVENTS_PATH
    assert _path(settings["event_subscriptions"]["request_url"]) == EVENTS_PATH
    assert settings["socket_mode_enabled"] is False  # HTTP: the URLs above are used


def test_scopes_are_exactly_what_the_code_needs(manifest: dict[str, Any]) -> None:
    calls = _web_api_calls()
    unknown = {m: where for m, where in calls.items() if m not in METHOD_SCOPES}
    assert not unknown, f"add these Web API methods to METHOD_SCOPES with their scope: {unknown}"
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    needed: set[str | None] = {EVENT_SCOPES[e] for e in events}
    for method in calls:
        scopes = METHOD_SCOPES[method]
        needed.update(scopes if isinstance(scopes, tuple) else (scopes,))
    if manifest["features"].get("slash_commands"):
        needed.add("commands")
    needed.discard(None)
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    assert granted >= needed, f"missing scopes: {sorted(needed - granted)}"
    assert granted <= needed, f"scopes nothing uses: {sorted(granted - needed)}"


def test_the_code_scan_sees_the_calls_it_should() -> None:
    """Guards the scan itself: were it to find nothing, the scope test would pass vacuously."""
    calls = _web_api_calls()
    assert {"chat_postMessage", "chat_update", "views_publish"} <= set(calls)
    assert {"app_mention", "message", "app_home_opened"} <= _registered()["event"]


def test_the_agent_view_describes_policybot_within_slacks_limits(manifest: dict[str, Any]
                                                                 ) -> None:
    """Slack's manifest schema: agent_description at most 300 characters, at most 4
    suggested prompts, each exactly a title and a message."""
    view = manifest["features"]["agent_view"]
    assert set(view) <= {"agent_description", "suggested_prompts", "actions"}
    description = view["agent_description"]
    assert 0 < len(description) <= 300
    assert "polic" in description.lower() and "passages" in description
    prompts = view["suggested_prompts"]
    assert 3 <= len(prompts) <= 4
    assert all(set(p) == {"title", "message"} and p["title"] and p["message"]
               for p in prompts)
    assert "assistant_view" not in manifest["features"]  # one experience, not both


def test_the_manifest_prompts_are_the_configured_defaults(manifest: dict[str, Any]) -> None:
    """One home for the default prompts (bot/settings.py): the manifest shows the same
    ones Slack is given at run time when slack.suggested_prompts is not set."""
    from bot.settings import SlackSettings

    configured = [p.model_dump() for p in SlackSettings().suggested_prompts]
    assert manifest["features"]["agent_view"]["suggested_prompts"] == configured


def test_the_messages_tab_is_heard_for_the_agent_view(manifest: dict[str, Any]) -> None:
    """The agent view announces a visit to the Messages tab with app_home_opened: it must
    be subscribed, and answering there needs message.im (a DM)."""
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "message.im", "assistant_thread_started"} <= events
    assert "assistant:write" in manifest["oauth_config"]["scopes"]["bot"]
