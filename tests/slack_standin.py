"""A local Slack Web API that PolicyBot's tests talk to instead of slack.com.

PolicyBot's Slack code goes through ``slack_sdk.WebClient`` (directly or via slack-bolt).
Tests need to see every call it makes (the message it posted, the thread it replied in,
the retries it did after a rate limit) and to make Slack misbehave on purpose, without
the network. :class:`SlackStandIn` is a small HTTP server on 127.0.0.1 that answers the
Web API methods PolicyBot uses the way Slack does, keeps just enough state for
``conversations.replies`` and ``chat.update`` to be meaningful, and records each request
as a :class:`Call`.

Point a client at it with ``WebClient(token="xoxb-test", base_url=slack.url)``; the
client appends the method name to ``base_url``. Interactive ``response_url`` POSTs can be
captured too, via :meth:`SlackStandIn.response_url`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from tests.socket_standin import SocketModeStandIn

TEAM_ID = "T0TEST"
TEAM_NAME = "PolicyBot Test"
TEAM_DOMAIN = "policybot-test"
APP_ID = "A0TEST"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "policybot"
SESSION_STATUSES = ("active", "processing", "suspended", "closed")  # agents.sessions

Answer = tuple[int, dict[str, Any]]


@dataclass
class Call:
    """One request PolicyBot made, and what the stand-in answered.

    ``params`` merges the query string and the body (JSON, form-urlencoded or multipart)
    as sent: JSON-encoded fields such as ``blocks`` or ``view`` stay strings when the
    client sent strings; :meth:`json` decodes them either way. ``headers`` has lower-case
    names. ``status`` and ``response`` are the HTTP status and JSON body sent back, so
    failed attempts can be told apart from the retry that succeeded.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    body: bytes = b""

    def json(self, key: str, default: Any = None) -> Any:
        """``params[key]``, decoded from JSON if the client sent it as a string."""
        return _decoded(self.params, key, default)

    @property
    def ok(self) -> bool:
        """Whether Slack would have reported success for this attempt."""
        return self.status == 200 and self.response.get("ok") is True


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None
    remaining: int | None  # None: every call until reset()


@dataclass
class _Delay:
    seconds: float
    remaining: int | None


def _decoded(params: dict[str, Any], key: str, default: Any = None) -> Any:
    """A parameter that may arrive as JSON text (form bodies) or as JSON (JSON bodies)."""
    value = params.get(key, default)
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ts_key(ts: str) -> tuple[int, int]:
    """Order Slack timestamps exactly; floats lose the last digits of ``1700000000.000100``."""
    secs, _, frac = str(ts).partition(".")
    return int(secs or 0), int((frac or "0").ljust(6, "0")[:6])


class SlackStandIn:
    """A Slack Web API stand-in on 127.0.0.1 with a free port; see the module docstring.

    Use as ``with SlackStandIn() as slack:`` or ``start()``/``stop()``. Configuration that
    tests may change at any time: ``usergroups`` (id -> user ids, for
    ``usergroups.users.list``), ``users`` (id -> fields merged into ``users.info``),
    ``channels`` (id -> member user ids, for ``conversations.members``; a channel not
    listed is ``channel_not_found``, as for a private channel the bot is not in),
    ``latency_s`` (delay before every answer), ``socket_url``/``socket`` (what
    ``apps.connections.open`` hands out) and ``tokens`` (if set, other tokens get
    ``invalid_auth``).

    Like Slack, it answers ``not_allowed_token_type`` when an app-level ``xapp-`` token
    is used for anything but ``apps.connections.open`` or another token for that method,
    and ``chat.update`` only edits messages it knows of that the bot posted: seed one the
    test made up with ``add_message(..., user="UBOT", bot_id="BBOT")``.
    """

    def __init__(
        self,
        *,
        socket: SocketModeStandIn | None = None,
        socket_url: str | None = None,
        latency_s: float = 0.0,
        tokens: Iterable[str] | None = None,
        usergroups: dict[str, list[str]] | None = None,
    ) -> None:
        self.socket = socket
        self.socket_url = socket_url
        self.latency_s = latency_s
        self.tokens: set[str] | None = set(tokens) if tokens is not None else None
        self.usergroups: dict[str, list[str]] = dict(usergroups or {})
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, list[str]] = {}
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.reactions: set[tuple[str, str, str]] = set()
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        # agent view (issue 12): (channel, message ts) -> {"title", "prompts"}
        self.suggested_prompts: dict[tuple[str, str], dict[str, Any]] = {}
        self.statuses: dict[tuple[str, str], dict[str, Any]] = {}  # streaming and status
        self.sessions: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.append_min_interval_s = 0.0
        self.append_retry_after = 1
        self._last_append: float | None = None
        self._cond = threading.Condition(threading.RLock())
        self._failures: dict[str, list[_Failure]] = {}
        self._delays: dict[str, list[_Delay]] = {}
        self._ts_counter = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Listen on a free loopback port; requests are served on their own threads."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = False  # so server_close() joins every request thread
        server.block_on_close = True
        self._server = server
        self.port = server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut short any ``latency_s`` waits, and join all threads."""
        self._stopping.set()
        if self._server is not None:
            # shutdown() waits for serve_forever to return: forever, if its thread is gone
            if self._thread is not None and self._thread.is_alive():
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The ``base_url`` for ``slack_sdk.WebClient`` (and ``slack_bolt.App(client=...)``)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A ``response_url`` whose POSTs are recorded as method ``"response_url"``."""
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # -- test-side state ---------------------------------------------------------------

    def add_message(
        self,
        channel: str,
        ts: str,
        text: str,
        user: str,
        thread_ts: str | None = None,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        """Put a message into a channel, as if a person (or another bot) had posted it."""
        message: dict[str, Any] = {"type": "message", "text": text, "user": user, "ts": ts,
                                   "team": TEAM_ID}
        if bot_id is not None:
            message["bot_id"] = bot_id
        with self._cond:
            self._store(channel, message, thread_ts)
        return message

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The messages of the thread ``ts`` in ``channel``, oldest first."""
        with self._cond:
            return [dict(m) for m in self._thread_messages(channel, ts)]

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = 1,
        times: int | None = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail (``times=None``: until reset).

        ``fail(m)`` or ``fail(m, status=429)``: HTTP 429, ``Retry-After``, ``ratelimited``.
        ``fail(m, error="channel_not_found")``: HTTP 200 with ``ok: false``.
        ``fail(m, status=500)``: HTTP 500 with ``ok: false`` and ``internal_error``.
        Failures queue up in order; ``method`` may also be ``"response_url"``.
        """
        if status is None:
            status = 200 if error else 429
        if error is None:
            error = "ratelimited" if status == 429 else "internal_error"
        failure = _Failure(status, error, retry_after if status == 429 else None, times)
        with self._cond:
            self._failures.setdefault(method, []).append(failure)

    def slow(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Delay the answers to ``method`` (on top of ``latency_s``), e.g. to test timeouts."""
        with self._cond:
            self._delays.setdefault(method, []).append(_Delay(seconds, times))

    def reset(self) -> None:
        """Forget calls, injected failures and delays, messages, reactions and views.

        Configuration (``usergroups``, ``users``, ``tokens``, ``latency_s``, socket URL)
        is kept, so a fixture can set it once.
        """
        with self._cond:
            self.calls.clear()
            self._failures.clear()
            self._delays.clear()
            self.messages.clear()
            self.reactions.clear()
            self.views.clear()
            self.home_views.clear()
            self.suggested_prompts.clear()
            self.statuses.clear()
            self.sessions.clear()
            self._last_append = None

    # -- assertions --------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call to ``method`` (failed attempts included), oldest first."""
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``count`` calls to ``method`` (matching ``where``) were received.

        PolicyBot answers from worker threads, after bolt has already acknowledged the
        request, so tests must wait for the call rather than look right away.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls
                         if c.method == method and (where is None or where(c))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    listing = "\n".join(
                        f"  {c.method} status={c.status} params={c.params}" for c in self.calls
                    ) or "  (none)"
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout}s, "
                        f"got {len(found)}; calls received:\n{listing}"
                    )
                self._cond.wait(left)

    # -- request handling (called from the HTTP handler) ------------------------------

    def _handle(self, method: str, params: dict[str, Any], headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        arrived = time.monotonic()
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        extra: dict[str, str] = {}
        with self._cond:
            status, answer = self._answer(method, params, token, extra)
            self.calls.append(Call(method, params, headers, token, arrived, status, answer, body))
            self._cond.notify_all()
            delay = self.latency_s + self._take_delay(method)
        if delay > 0:
            self._stopping.wait(delay)
        return status, answer, extra

    def _answer(self, method: str, params: dict[str, Any], token: str | None,
                extra: dict[str, str]) -> Answer:
        is_response_url = method == "response_url"
        handler = None if is_response_url else getattr(self, "_m_" + method.replace(".", "_"),
                                                       None)
        if not is_response_url and handler is None:
            return 200, {"ok": False, "error": "unknown_method"}
        if not is_response_url:
            if not token:
                return 200, {"ok": False, "error": "not_authed"}
            if self.tokens is not None and token not in self.tokens:
                return 200, {"ok": False, "error": "invalid_auth"}
            if token.startswith("xapp-") != (method == "apps.connections.open"):
                return 200, {"ok": False, "error": "not_allowed_token_type"}
        failure = self._take_failure(method)
        if failure is not None:
            if failure.retry_after is not None:
                extra["Retry-After"] = str(failure.retry_after)
            return failure.status, {"ok": False, "error": failure.error}
        if is_response_url:
            return 200, {"ok": True}
        assert handler is not None
        status, answer = handler(params)
        if "_retry_after" in answer:  # a handler's own 429 (appendStream's rate)
            extra["Retry-After"] = str(answer.pop("_retry_after"))
        return status, answer

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        if failure.remaining is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
        return failure

    def _take_delay(self, method: str) -> float:
        queue = self._delays.get(method)
        if not queue:
            return 0.0
        delay = queue[0]
        if delay.remaining is not None:
            delay.remaining -= 1
            if delay.remaining <= 0:
                queue.pop(0)
        return delay.seconds

    # -- state helpers (callers hold the lock) -----------------------------------------

    def _next_ts(self) -> str:
        self._ts_counter += 1
        micros = self._ts_counter * 100
        return f"{1700000000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        return None

    def _store(self, channel: str, message: dict[str, Any], thread_ts: str | None) -> None:
        if thread_ts and thread_ts != message["ts"]:
            message["thread_ts"] = thread_ts
            parent = self._find(channel, thread_ts)
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
        self.messages.setdefault(channel, []).append(message)

    def _thread_messages(self, channel: str, ts: str) -> list[dict[str, Any]]:
        found = self._find(channel, ts)
        root = found.get("thread_ts", ts) if found is not None else ts
        thread = [m for m in self.messages.get(channel, [])
                  if m["ts"] == root or m.get("thread_ts") == root]
        return sorted(thread, key=lambda m: _ts_key(m["ts"]))

    def _view(self, view: dict[str, Any], view_id: str | None, default_type: str) -> dict[str, Any]:
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        rendered = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type", default_type),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "external_id": view.get("external_id", ""),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self.views[view_id] = rendered
        return rendered

    # -- Web API methods: each takes the merged params and returns (status, JSON) ------

    def _m_auth_test(self, params: dict[str, Any]) -> Answer:
        return 200, {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, params: dict[str, Any]) -> Answer:
        url = self.socket_url or (self.socket.new_url() if self.socket is not None else None)
        if url is None:
            # Not a Slack error code: says that the test did not wire a Socket Mode server.
            return 200, {"ok": False, "error": "socket_mode_not_configured"}
        return 200, {"ok": True, "url": url}

    def _m_chat_postMessage(self, params: dict[str, Any]) -> Answer:
        channel = params.get("channel")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return 200, {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "text": params.get("text") or "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        blocks = _decoded(params, "blocks")
        if blocks:
            message["blocks"] = blocks
        thread_ts = params.get("thread_ts") or None
        self._store(channel, message, thread_ts)
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _m_chat_update(self, params: dict[str, Any]) -> Answer:
        channel, ts = params.get("channel"), params.get("ts")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        message = self._find(channel, ts) if ts else None
        if message is None:
            return 200, {"ok": False, "error": "message_not_found"}
        if message.get("bot_id") != BOT_ID:
            return 200, {"ok": False, "error": "cant_update_message"}
        if "text" in params:
            message["text"] = params.get("text") or ""
        blocks = _decoded(params, "blocks")
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return 200, {"ok": True, "channel": channel, "ts": ts, "text": message["text"],
                     "message": dict(message)}

    def _m_chat_delete(self, params: dict[str, Any]) -> Answer:
        channel, ts = params.get("channel"), params.get("ts")
        message = self._find(channel, ts) if channel and ts else None
        if message is None:
            return 200, {"ok": False, "error": "message_not_found"}
        if message.get("bot_id") != BOT_ID:
            return 200, {"ok": False, "error": "cant_delete_message"}
        self.messages[channel].remove(message)
        return 200, {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> Answer:
        if not params.get("channel"):
            return 200, {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return 200, {"ok": False, "error": "user_not_in_channel"}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return 200, {"ok": False, "error": "no_text"}
        return 200, {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, params: dict[str, Any]) -> Answer:
        channel, ts = params.get("channel"), params.get("message_ts")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        if not ts:
            return 200, {"ok": False, "error": "message_not_found"}
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{str(ts).replace('.', '')}"
        message = self._find(channel, ts)
        if message is not None and message.get("thread_ts") not in (None, ts):
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return 200, {"ok": True, "channel": channel, "permalink": link}

    def _m_reactions_add(self, params: dict[str, Any]) -> Answer:
        key = (params.get("channel"), params.get("timestamp"), params.get("name"))
        if not all(key):
            return 200, {"ok": False, "error": "invalid_arguments"}
        if key in self.reactions:
            return 200, {"ok": False, "error": "already_reacted"}
        self.reactions.add(key)  # type: ignore[arg-type]
        return 200, {"ok": True}

    def _m_reactions_remove(self, params: dict[str, Any]) -> Answer:
        key = (params.get("channel"), params.get("timestamp"), params.get("name"))
        if key not in self.reactions:
            return 200, {"ok": False, "error": "no_reaction"}
        self.reactions.discard(key)  # type: ignore[arg-type]
        return 200, {"ok": True}

    def _view_param(self, params: dict[str, Any]) -> dict[str, Any] | None:
        view = _decoded(params, "view")
        return view if isinstance(view, dict) else None

    def _m_views_publish(self, params: dict[str, Any]) -> Answer:
        user_id, view = params.get("user_id"), self._view_param(params)
        if not user_id or view is None:
            return 200, {"ok": False, "error": "invalid_arguments"}
        previous = self.home_views.get(user_id)
        rendered = self._view(view, previous["id"] if previous else None, "home")
        self.home_views[user_id] = rendered
        return 200, {"ok": True, "view": rendered}

    def _m_views_open(self, params: dict[str, Any]) -> Answer:
        view = self._view_param(params)
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            return 200, {"ok": False, "error": "invalid_arguments"}
        if view is None:
            return 200, {"ok": False, "error": "invalid_arguments"}
        return 200, {"ok": True, "view": self._view(view, None, "modal")}

    def _m_views_push(self, params: dict[str, Any]) -> Answer:
        return self._m_views_open(params)

    def _m_views_update(self, params: dict[str, Any]) -> Answer:
        view = self._view_param(params)
        view_id = params.get("view_id")
        if view_id is None and params.get("external_id"):
            view_id = next((v["id"] for v in self.views.values()
                            if v["external_id"] == params["external_id"]), None)
        if view is None or view_id is None:
            return 200, {"ok": False, "error": "not_found"}
        # A view id the stand-in never issued is accepted: payload builders invent view
        # ids (``V0TEST``) that a real Slack would have issued through views.open.
        known = self.views.get(view_id, {})
        return 200, {"ok": True, "view": self._view(view, view_id, known.get("type", "modal"))}

    def _m_usergroups_users_list(self, params: dict[str, Any]) -> Answer:
        group = params.get("usergroup")
        if group not in self.usergroups:
            return 200, {"ok": False, "error": "no_such_subteam"}
        return 200, {"ok": True, "users": list(self.usergroups[group])}

    def _m_users_info(self, params: dict[str, Any]) -> Answer:
        user_id = params.get("user")
        if not user_id:
            return 200, {"ok": False, "error": "user_not_found"}
        name = str(user_id).lower()
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": f"User {user_id}",
            "deleted": False,
            "is_bot": user_id == BOT_USER_ID,
            "is_admin": False,
            "tz": "Europe/London",
            "profile": {
                "real_name": f"User {user_id}",
                "display_name": name,
                "email": f"{name}@policybot-test.example",
            },
        }
        user.update(self.users.get(user_id, {}))
        return 200, {"ok": True, "user": user}

    def _m_conversations_members(self, params: dict[str, Any]) -> Answer:
        """Slack's shape: ``members`` (user ids) a page at a time, ``limit`` 1-999 (default
        100), and an opaque ``response_metadata.next_cursor`` that is "" on the last page."""
        channel = params.get("channel")
        if channel not in self.channels:
            return 200, {"ok": False, "error": "channel_not_found"}
        try:
            limit = int(params.get("limit") or 100)
        except ValueError:
            return 200, {"ok": False, "error": "invalid_limit"}
        if not 1 <= limit <= 999:
            return 200, {"ok": False, "error": "invalid_limit"}
        start = 0
        if params.get("cursor"):
            try:
                kind, _, offset = base64.b64decode(params["cursor"]).decode().partition(":")
                start = int(offset)
            except ValueError:
                return 200, {"ok": False, "error": "invalid_cursor"}
            if kind != "member" or start < 0:
                return 200, {"ok": False, "error": "invalid_cursor"}
        members = self.channels[channel]
        end = start + limit
        cursor = base64.b64encode(f"member:{end}".encode()).decode() if end < len(members) \
            else ""
        return 200, {"ok": True, "members": list(members[start:end]),
                     "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_replies(self, params: dict[str, Any]) -> Answer:
        channel, ts = params.get("channel"), params.get("ts")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        thread = self._thread_messages(channel, ts) if ts else []
        if not thread:
            return 200, {"ok": False, "error": "thread_not_found"}
        return 200, {
            "ok": True,
            "messages": [dict(m) for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    # agent view (issue 12)

    def _m_assistant_threads_setSuggestedPrompts(self, params: dict[str, Any]) -> Answer:
        """Slack's shape: ``channel_id`` and ``prompts`` (up to four, each with ``title``
        and ``message``) required; ``thread_ts`` optional (the agent view: the prompts go
        to the latest message in the channel) and ``title`` optional. Kept in
        ``suggested_prompts[(channel, ts)]``; the documented errors for an unknown thread
        (``invalid_thread_ts``) or a channel with no message (``message_not_found``)."""
        channel = params.get("channel_id")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        prompts = _decoded(params, "prompts")
        if not (isinstance(prompts, list) and 1 <= len(prompts) <= 4 and all(
                isinstance(p, dict) and set(p) == {"title", "message"}
                and all(isinstance(v, str) and v for v in p.values()) for p in prompts)):
            return 200, {"ok": False, "error": "invalid_arguments"}
        thread_ts = params.get("thread_ts")
        if thread_ts:
            if self._find(channel, thread_ts) is None:
                return 200, {"ok": False, "error": "invalid_thread_ts"}
            ts = thread_ts
        else:
            top = [m for m in self.messages.get(channel, []) if not m.get("thread_ts")
                   or m.get("thread_ts") == m.get("ts")]
            if not top:
                return 200, {"ok": False, "error": "message_not_found"}
            ts = max((m["ts"] for m in top), key=_ts_key)
        self.suggested_prompts[(channel, ts)] = {"title": params.get("title"),
                                                 "prompts": prompts}
        return 200, {"ok": True}

    # streaming and status (issue 12) ------------------------------------------------
    # chat.startStream / appendStream / stopStream, assistant.threads.setStatus and
    # agents.sessions.setStatus, with the arguments and answers docs.slack.dev gives them.
    # A streamed message lives in ``messages`` like any other (``streaming`` True until
    # stopped), so ``thread()``, ``conversations.replies`` and ``chat.update`` see it.
    # ``append_min_interval_s``: appends (workspace-wide) closer together than this are
    # answered 429 with ``Retry-After: append_retry_after``. ``statuses`` and
    # ``sessions`` hold each thread's latest status and session.

    def _streaming(self, channel: str | None, ts: str | None) -> dict[str, Any] | None:
        message = self._find(channel, ts) if channel and ts else None
        return message if message is not None and message.get("streaming") else None

    @staticmethod
    def _stream_text(params: dict[str, Any]) -> str:
        text = params.get("markdown_text") or ""
        for chunk in _decoded(params, "chunks") or []:
            if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
                text += chunk.get("text") or ""
        return text

    def _m_chat_startStream(self, params: dict[str, Any]) -> Answer:
        channel, thread_ts = params.get("channel"), params.get("thread_ts")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        # Streamed messages are replies (thread_ts required); in channels Slack needs the
        # recipient user and team. The error Slack names for a missing argument varies;
        # invalid_arguments is its generic one.
        if not thread_ts or (not str(channel).startswith("D") and not (
                params.get("recipient_user_id") and params.get("recipient_team_id"))):
            return 200, {"ok": False, "error": "invalid_arguments"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message", "text": self._stream_text(params), "user": BOT_USER_ID,
            "bot_id": BOT_ID, "app_id": APP_ID, "team": TEAM_ID, "ts": ts, "streaming": True,
            "recipient_user_id": params.get("recipient_user_id"),
            "recipient_team_id": params.get("recipient_team_id"),
        }
        self._store(channel, message, thread_ts)
        return 200, {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_appendStream(self, params: dict[str, Any]) -> Answer:
        message = self._streaming(params.get("channel"), params.get("ts"))
        if message is None:
            return 200, {"ok": False, "error": "message_not_in_streaming_state"}
        text = self._stream_text(params)
        if not text:
            return 200, {"ok": False, "error": "invalid_arguments"}
        now = time.monotonic()
        last, interval = self._last_append, self.append_min_interval_s
        if last is not None and interval and now - last < interval:
            return 429, {"ok": False, "error": "ratelimited",
                         "_retry_after": self.append_retry_after}
        self._last_append = now
        message["text"] += text
        return 200, {"ok": True, "channel": params["channel"], "ts": message["ts"]}

    def _m_chat_stopStream(self, params: dict[str, Any]) -> Answer:
        channel = params.get("channel")
        message = self._streaming(channel, params.get("ts"))
        if message is None:
            return 200, {"ok": False, "error": "message_not_in_streaming_state"}
        session_status = params.get("session_status")
        if session_status is not None and session_status not in SESSION_STATUSES:
            return 200, {"ok": False, "error": "invalid_arguments"}
        message["text"] += self._stream_text(params)
        blocks = _decoded(params, "blocks")
        if blocks:
            message["blocks"] = blocks
        message["streaming"] = False
        if session_status is not None:
            thread = message.get("thread_ts", message["ts"])
            self.sessions.setdefault((channel, thread), {})["status"] = session_status
        finished = {k: v for k, v in message.items()
                    if k not in ("streaming", "recipient_user_id", "recipient_team_id")}
        return 200, {"ok": True, "channel": channel, "ts": message["ts"], "message": finished}

    def _m_assistant_threads_setStatus(self, params: dict[str, Any]) -> Answer:
        channel, thread_ts = params.get("channel_id"), params.get("thread_ts")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        if not thread_ts:
            return 200, {"ok": False, "error": "invalid_thread_ts"}
        if "status" not in params:
            return 200, {"ok": False, "error": "invalid_arguments"}
        loading = _decoded(params, "loading_messages") or []
        if len(loading) > 10:  # "Maximum of 10 messages"
            return 200, {"ok": False, "error": "invalid_arguments"}
        self.statuses[(channel, thread_ts)] = {"status": params["status"],
                                               "loading_messages": list(loading)}
        return 200, {"ok": True}

    def _m_agents_sessions_setStatus(self, params: dict[str, Any]) -> Answer:
        channel, status = params.get("channel_id"), params.get("status")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        if status not in SESSION_STATUSES:
            return 200, {"ok": False, "error": "invalid_arguments"}
        session = self.sessions.setdefault((channel, params.get("thread_ts")), {})
        session["status"] = status
        if params.get("title"):
            session["title"] = params["title"]
        return 200, {"ok": True, "status": status, "title": session.get("title", "")}


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a request body the way Slack accepts it: JSON, form or multipart."""
    if not body:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body)
        return data if isinstance(data, dict) else {"_json": data}
    if kind == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        params: dict[str, Any] = {}
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            params[name] = payload if part.get_filename() else payload.decode("utf-8")
        return params
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a client that connects and never sends must not hold stop() up

        def _serve(self) -> None:
            split = urlsplit(self.path)
            body = _read_body(self) if self.command == "POST" else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
            try:
                params.update(_parse_body(headers.get("content-type", ""), body))
            except ValueError:
                self._reply(200, {"ok": False, "error": "invalid_json"}, {})
                return
            if split.path.startswith("/api/"):
                method = unquote(split.path[len("/api/"):])
            elif split.path.startswith("/response/") and self.command == "POST":
                method = "response_url"
                params["_name"] = unquote(split.path[len("/response/"):])
            else:
                self._reply(404, {"ok": False, "error": "not_found"}, {})
                return
            status, answer, extra = standin._handle(method, params, headers, body)
            self._reply(status, answer, extra)

        def _reply(self, status: int, answer: dict[str, Any], extra: dict[str, str]) -> None:
            data = json.dumps(answer).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. its timeout is shorter than latency_s)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: calls are recorded on the stand-in, not logged."""

    return Handler
