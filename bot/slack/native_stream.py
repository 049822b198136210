"""Answers that stream natively into their thread (``chat.startStream`` /
``chat.appendStream`` / ``chat.stopStream``), with the placeholder path as the fallback.

Why the three methods directly rather than ``client.chat_stream()``: its buffer flushes on
size alone, so it cannot hold appends to a rate, cannot tell a refused method from a
transient failure, and would retry a 429 inline while the answer waits. Here:

- **Only checked text is sent.** ``delivery.stream`` receives the text that passed the
  citation checks so far (model.screen.CheckedStream); only its growth is appended. Should
  it ever stop extending what was sent (a sentence re-read differently), appends stop and
  the final message replaces the text.
- **Appends are held to Slack's rate.** ``chat.appendStream`` is Tier 4 (100+ a minute,
  per workspace): one answer appends at most every ``slack.append_interval_s`` and all
  answers of a workspace share a bucket of ``slack.appends_per_minute``; text that has to
  wait is sent with the next append or with ``chat.stopStream``. A 429 pauses the
  workspace's appends for its ``Retry-After`` (no inline retry; the text just waits).
- **The final message is the checked answer.** When the streamed text is the start of the
  text the answer shows, the stream stops with the rest of that text, the sources and the
  feedback block (blocks given to ``chat.stopStream`` render after the streamed text), so
  the message's text equals the final shown text. Otherwise (sentences dropped by
  the final check, a fallback to the extractive answer, renumbered citations) the stream
  is stopped and the message replaced with the whole answer by ``chat.update``, so no
  unchecked or stale text stays visible. An answer that never streamed (the extractive
  generator writes no partial text) goes out in one go through the same stream:
  ``startStream`` then ``stopStream`` with the answer's blocks, so every answer ends the
  same way and moves the agent session out of ``processing`` in the same call.
- **Refusals fall back.** A workspace that refuses the streaming methods (an older plan,
  an Enterprise Grid policy) gets that answer through the placeholder and ``chat.update``,
  and is remembered so its later answers go there at once. The memory is per process:
  it is one failed call per replica and restart to learn again, which also lets a
  workspace that later enables streaming get it back without anyone clearing state.
  Auth-class errors are not refusals (the placeholder would fail the same way).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ask import AskResult, Placement, Question
from bot.slack import kit, messages, thread_status
from bot.slack.blocks import (
    answer_messages,
    closing_blocks,
    shown_text,
    states_fact,
    streaming_blocks,
    working_blocks,
)
from bot.slack.conversation import InConversation
from bot.slack.kit import Block
from bot.slack.long_answers import send_all
from bot.slack.markdown import escape
from bot.slack.outcome import failure_text
from bot.slack.streaming import Throttled

if TYPE_CHECKING:
    from bot.settings import SlackSettings
    from bot.slack.services import Services

log = logging.getLogger(__name__)

# Errors that mean "this workspace will not stream": fall back and remember the workspace.
# unknown_method / method_deprecated / invalid_arguments are Slack's generic errors for a
# method a workspace does not offer or whose arguments it does not take; not_allowed is a
# workspace or org policy; enterprise_is_restricted is Enterprise Grid's.
REFUSED = frozenset({"not_allowed", "method_deprecated", "unknown_method",
                     "invalid_arguments", "enterprise_is_restricted"})
# Refused for this kind of conversation only (chat.*Stream's channel_type_not_supported):
# fall back and remember the channel, not the workspace.
REFUSED_HERE = frozenset({"channel_type_not_supported"})
# Slack could not take it now: this answer falls back, nothing is remembered.
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "ratelimited"})
# Raw text per call: escaped for Markdown (at most doubled) it stays within the 12,000
# characters chat.*Stream's markdown_text takes.
MARKDOWN_LIMIT = 6_000
BUCKET = 5  # appends a workspace may send at once before the per-minute rate applies


class Stopped(Exception):  # noqa: N818 - a signal, not an error
    """The asker pressed stop: raised out of the generator's text callback."""


def slack_error_code(exc: Exception) -> str:
    """Slack's ``error`` for an API error; the class name for anything else."""
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "get"):
        return str(response.get("error") or "")
    return type(exc).__name__


class AppendBudget:
    """A workspace's appends: a token bucket at ``per_minute``, paused by a 429."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, team: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self._paused.get(team, 0.0):
                return False
            tokens = min(float(BUCKET), self._tokens.get(team, float(BUCKET))
                         + (now - self._stamp.get(team, now)) * self.rate)
            self._stamp[team] = now
            if tokens < 1.0:
                self._tokens[team] = tokens
                return False
            self._tokens[team] = tokens - 1.0
            return True

    def pause(self, team: str, seconds: float) -> None:
        with self._lock:
            self._paused[team] = max(self._paused.get(team, 0.0), time.monotonic() + seconds)


class NativeState:
    """Per process: which workspaces refused streaming or sessions, the answers in flight
    (for the stop button), the append budget, and a client for calls that must not wait."""

    def __init__(self, client: WebClient, slack: SlackSettings) -> None:
        self.settings = slack
        # No retry handlers and a short timeout: appends and status calls are never worth
        # holding an answer for (a 429 pauses appends instead, see AppendBudget).
        self.client = WebClient(token=client.token, base_url=client.base_url, timeout=3,
                                retry_handlers=[])
        self.budget = AppendBudget(slack.appends_per_minute)
        self._refused: dict[str, str] = {}  # team or team:channel → the error Slack gave
        self._no_sessions: dict[str, str] = {}
        self._flight: dict[tuple[str, str], list[NativeStream]] = {}
        self._lock = threading.Lock()

    def streams(self, q: Question) -> bool:
        """Whether this question's answer should stream natively."""
        if self.settings.streaming == "off" or not (q.thread_ts or q.message_ts):
            return False
        with self._lock:
            return (q.team_id not in self._refused
                    and f"{q.team_id}:{q.channel_id}" not in self._refused)

    def refuse(self, q: Question, method: str, error: str) -> None:
        key = q.team_id if error in REFUSED else f"{q.team_id}:{q.channel_id}"
        with self._lock:
            first = key not in self._refused
            self._refused[key] = error
        if first:
            log.warning("Slack refused %s (%s) for %s: its answers use the placeholder and "
                        "chat.update from now on (until this process restarts)", method, error,
                        key)

    def sessions_allowed(self, team: str) -> bool:
        with self._lock:
            return team not in self._no_sessions

    def no_sessions(self, team: str, error: str) -> None:
        with self._lock:
            self._no_sessions[team] = error
        log.info("agent sessions unavailable in %s (%s): no stop button there", team, error)

    def begin(self, stream: NativeStream) -> None:
        with self._lock:
            self._flight.setdefault(stream.key, []).append(stream)

    def end(self, stream: NativeStream) -> None:
        with self._lock:
            flight = self._flight.get(stream.key, [])
            if stream in flight:
                flight.remove(stream)
            if not flight:
                self._flight.pop(stream.key, None)

    def stop(self, channel: str, thread_ts: str, user: str) -> int:
        """The stop button: signal the answers in flight in that thread that ``user``
        asked (a bystander cannot stop someone else's answer); how many."""
        with self._lock:
            flight = [s for s in self._flight.get((channel, thread_ts), [])
                      if s.q.user_id == user]
        for stream in flight:
            stream.cancel.set()
        return len(flight)


def delivery_for(svc: Services, q: Question) -> InConversation:
    """Native streaming where the workspace allows it, else the placeholder path."""
    if svc.native.streams(q):
        return NativeStream(svc, q)
    return InConversation(svc, q)


class NativeStream(InConversation):
    """An answer streamed into its thread; see the module docstring. Falls back to the
    placeholder path (the parent class) for the rest of the answer when Slack refuses."""

    def __init__(self, svc: Services, q: Question) -> None:
        super().__init__(svc, q)
        self.state: NativeState = svc.native
        self.thread = q.thread_ts or q.message_ts or ""
        self.key = (q.channel_id, self.thread)
        self.team = q.team_id
        self.cancel = threading.Event()
        self.stream_ts = ""
        self.sent = ""  # text appended so far (chat.startStream's included)
        self.pending = ""  # checked text not sent yet
        self.frozen = False  # no more appends: the final message replaces the text
        self.fallen = False  # on the placeholder path now
        self.session = False  # an agent session in processing, to be moved out
        self.broken = False  # Slack would show nothing here (auth, channel, scope)
        self._last = 0.0
        self._relay: Throttled | None = None
        self.stream = self._on_text

    # -- the Delivery --------------------------------------------------------------

    def start(self) -> Placement | None:
        self.state.begin(self)
        self.session = thread_status.show_working(self.svc, self.state, self.q, self.thread)
        return Placement(thread_ts=self.thread)

    def stopped(self) -> bool:
        return self.cancel.is_set()

    def halt(self) -> None:
        self._end(messages.STOPPED, [kit.section(messages.STOPPED)])

    def fail(self, error: Exception) -> None:
        text = failure_text(error)  # inside the Ask's except: logs the traceback
        self._end(text, [kit.section(text)])

    def deliver(self, result: AskResult) -> Placement | None:
        answer = result.answer
        assert answer is not None
        # an answer too long for one message continues in the thread (rarely: ~10,000
        # characters); the streamed message then ends replaced by the first part
        first, *more = answer_messages(answer, answer_id=result.answer_id or "")
        blocks, text = first["blocks"], first["text"]
        try:
            if self.fallen:
                ok = self._show(text, blocks)
            elif not self.stream_ts:
                ok = self._one_go(text, blocks)
            elif (not more and not self.frozen and states_fact(answer)
                  and shown_text(answer).startswith(self.sent)
                  and len(shown_text(answer)) - len(self.sent) <= MARKDOWN_LIMIT):
                # the rest of the checked answer (text that waited for an append, and the
                # last sentence, which the stream relays only once the answer is complete)
                rest = shown_text(answer)[len(self.sent):]
                ok = self._stop(markdown=rest, blocks=closing_blocks(first))
                if not ok:  # the stream ended under us: show the answer whole instead
                    ok = self._replace(text, blocks)
            else:
                self._stop()
                ok = self._replace(text, blocks)
        finally:
            self._done()
        if ok:
            self._continue(more)
        ts = self.stream_ts or self.ts
        if ok and ts and result.answer_id:
            with contextlib.suppress(Exception):  # the answer is shown; the link is a bonus
                self.svc.history.set_message(result.answer_id, ts, self.thread)
        return Placement(message_ts=ts) if ok else None

    def _part_thread(self) -> str | None:
        return self.thread  # a streamed answer is always in a thread

    def _continue(self, more: Sequence[dict[str, Any]]) -> None:
        """The parts of a long answer after the first, posted in the thread in order (a
        part Slack refuses as too long is halved, as on the placeholder path)."""
        if not more:
            return
        try:
            send_all(more, self._post_part, self._post_part)
        except SlackApiError:
            log.warning("answer shown in part: a continuation was refused")

    # -- partial text ----------------------------------------------------------------

    def _on_text(self, text: str) -> None:
        if self.cancel.is_set():
            raise Stopped()
        if self.fallen:
            if self._relay is not None:
                self._relay(text)
            return
        if self.frozen:
            return
        if not text.startswith(self.sent):  # cannot take back what was sent
            self.frozen = True
            return
        self.pending = text[len(self.sent):]
        if not self.pending.strip():
            return
        if not self.stream_ts:
            self._start(self.pending)
            return
        now = time.monotonic()
        if now - self._last < self.state.settings.append_interval_s:
            return
        if len(self.sent) + len(self.pending) > MARKDOWN_LIMIT * 3:
            self.frozen = True  # a very long answer: the final message shows it whole
            return
        if self.state.budget.take(self.team):
            self._append(now)

    def _start(self, markdown: str) -> bool:
        """chat.startStream (with the first text, if any); False when it fell back."""
        q = self.q
        if self.broken:
            return False
        try:
            started = self.svc.client.chat_startStream(
                channel=q.channel_id, thread_ts=self.thread,
                markdown_text=escape(markdown[:MARKDOWN_LIMIT]) or None,
                recipient_user_id=q.user_id or None,
                recipient_team_id=q.user_team or q.team_id or None)
        except Exception as exc:  # noqa: BLE001 - sorted into refusals and the rest
            self.svc.slack_error("chat.startStream", exc)
            self._refused(exc, "chat.startStream")
            return False
        self.stream_ts = str(started["ts"])
        self.sent, self.pending = markdown[:MARKDOWN_LIMIT], markdown[MARKDOWN_LIMIT:]
        self._last = time.monotonic()
        return True

    def _append(self, now: float) -> None:
        chunk = self.pending[:MARKDOWN_LIMIT]
        try:
            self.state.client.chat_appendStream(channel=self.q.channel_id, ts=self.stream_ts,
                                                markdown_text=escape(chunk))
        except SlackApiError as exc:
            self.svc.slack_error("chat.appendStream", exc)
            if exc.response.status_code == 429:
                wait = float(exc.response.headers.get("Retry-After") or 1)
                self.state.budget.pause(self.team, wait)  # the text waits, then goes on
                self._last = now + wait - self.state.settings.append_interval_s
            else:
                self.frozen = True  # the final message will show the answer whole
            return
        except Exception as exc:  # noqa: BLE001 - network trouble: same as above
            self.svc.slack_error("chat.appendStream", exc)
            self.frozen = True
            return
        self.sent += chunk
        self.pending = self.pending[len(chunk):]
        self._last = now

    def _refused(self, exc: Exception, method: str) -> None:
        """A failed chat.startStream: fall back to the placeholder path when that can
        help (a refusal, remembered; or a transient failure), else nothing is shown."""
        error = slack_error_code(exc)
        status = getattr(getattr(exc, "response", None), "status_code", 200)
        if error in REFUSED or error in REFUSED_HERE:
            self.state.refuse(self.q, method, error)
        elif not (error in TRANSIENT or status >= 500 or not isinstance(exc, SlackApiError)):
            self.broken = True  # auth, channel or scope trouble: a placeholder fails too
            return
        self.fallen = True
        self._relay = Throttled(lambda partial: self._update(messages.WORKING,
                                                             streaming_blocks(partial)),
                                self.svc.settings.slack.stream_interval_s)
        partial = self.sent + self.pending
        with contextlib.suppress(SlackApiError):
            self._post(messages.WORKING, streaming_blocks(partial) if partial.strip()
                       else None)

    # -- ending ----------------------------------------------------------------------

    def _one_go(self, text: str, blocks: list[Block]) -> bool:
        """An answer that did not stream: started and stopped with all its blocks."""
        if not self._start(""):
            return self._show(text, blocks) if self.fallen else False
        return self._stop(blocks=blocks) or self._replace(text, blocks)

    def _stop(self, markdown: str = "", blocks: list[Block] | None = None) -> bool:
        """chat.stopStream, moving the session out of processing in the same call."""
        try:
            self.svc.client.chat_stopStream(
                channel=self.q.channel_id, ts=self.stream_ts,
                markdown_text=escape(markdown[:MARKDOWN_LIMIT]) or None, blocks=blocks or None,
                session_status=thread_status.ACTIVE if self.session else None)
        except Exception as exc:  # noqa: BLE001 - e.g. the user's stop ended it already
            self.svc.slack_error("chat.stopStream", exc)
            return False
        self.session = False
        return True

    def _replace(self, text: str, blocks: list[Block]) -> bool:
        """chat.update of the stream's message with the whole final message."""
        try:
            self.svc.client.chat_update(channel=self.q.channel_id, ts=self.stream_ts,
                                        text=text, blocks=blocks)
        except Exception as exc:  # noqa: BLE001
            self.svc.slack_error("chat.update", exc)
            return False
        return True

    def _show(self, text: str, blocks: list[Block]) -> bool:
        """The placeholder path: update the placeholder, or post the message if none."""
        try:
            self._post(text, blocks)
        except SlackApiError:
            return False
        return True

    def _post(self, text: str, blocks: list[Block] | None) -> None:
        if self.ts:
            self._update(text, blocks or working_blocks())
            return
        try:
            posted = self.svc.client.chat_postMessage(
                channel=self.q.channel_id, thread_ts=self.thread, text=text,
                blocks=blocks or working_blocks(), unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            self.svc.slack_error("chat.postMessage", exc)
            raise
        self.ts = str(posted["ts"])

    def _end(self, text: str, blocks: list[Block]) -> None:
        """A failure or a stop: the stream (or placeholder) ends showing ``text`` only."""
        try:
            if self.fallen:
                self._show(text, blocks)
            elif not self.stream_ts:
                self._one_go(text, blocks)
            else:
                self._stop()
                self._replace(text, blocks)
        finally:
            self._done()

    def _done(self) -> None:
        self.state.end(self)
        thread_status.clear(self.svc, self.state, self.q, self.thread, self.session)
        self.session = False
