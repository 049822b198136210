"""Answers posted where they were asked: a channel thread or a DM.

The placeholder goes up first ("Searching the policies…"), partial text replaces it while
a generator streams, and the final answer replaces it in place, so the thread holds one
message per answer whatever happens. Refusals are notes only the asker sees.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.ask import AskResult, Delivery, Placement, Question
from bot.slack import kit, messages
from bot.slack.blocks import answer_messages, streaming_blocks, working_blocks
from bot.slack.long_answers import send_all
from bot.slack.outcome import failure_text
from bot.slack.services import Services
from bot.slack.streaming import Throttled
from bot.slack.workers import Busy
from indexer.state import utcnow
from model.passages import Turn

log = logging.getLogger(__name__)

DM_MEMORY = timedelta(minutes=15)  # a DM question this soon after an answer is a follow-up


def earlier_turns(svc: Services, q: Question) -> list[Turn]:
    """The thread's earlier answers; in a DM outside threads, the last one if recent."""
    if q.thread_ts:
        records = svc.history.thread_turns(q.channel_id, q.thread_ts)
    elif q.visibility == "dm":
        last = svc.history.latest_answer(q.channel_id)
        records = [last] if last is not None and utcnow() - last.created_at < DM_MEMORY else []
    else:
        records = []
    return [Turn(r.question, r.text) for r in records]


class InConversation(Delivery):
    """Placeholder, streamed partial text, then the answer, in the thread or the DM.
    Runs in the worker pool, so the history reads are off the ack path too."""

    def __init__(self, svc: Services, q: Question) -> None:
        self.svc, self.q = svc, q
        self.ts = ""

    def refuse(self, text: str) -> None:
        tell(self.svc, self.q, text)

    def start(self) -> Placement | None:
        q, svc = self.q, self.svc
        try:
            posted = svc.client.chat_postMessage(
                channel=q.channel_id, thread_ts=q.thread_ts, text=messages.WORKING,
                blocks=working_blocks(), unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            svc.slack_error("chat.postMessage", exc)
            return None
        self.ts = posted["ts"]
        self.stream = Throttled(
            lambda partial: self._update(messages.WORKING, streaming_blocks(partial)),
            svc.settings.slack.stream_interval_s)
        return Placement(thread_ts=q.thread_ts or self.ts, message_ts=self.ts)

    def earlier(self) -> Sequence[Turn]:
        return earlier_turns(self.svc, self.q)

    def fail(self, error: Exception) -> None:
        text = failure_text(error)
        with contextlib.suppress(SlackApiError):
            self._update(text, [kit.section(text)])

    def deliver(self, result: AskResult) -> Placement | None:
        assert result.answer is not None
        shown: list[bool] = []

        def first(message: dict[str, Any]) -> None:
            self._update(message["text"], message["blocks"])
            shown.append(True)

        try:  # the placeholder becomes the answer; a long one continues in the thread
            send_all(answer_messages(result.answer, answer_id=result.answer_id), first,
                     self._post_part)
        except SlackApiError:
            if not shown:
                return None
            log.warning("answer %s shown in part: a continuation was refused", result.answer_id)
        return Placement()

    def _part_thread(self) -> str | None:
        """Where a long answer's later parts go: the thread the answer is in."""
        return self.q.thread_ts

    def _post_part(self, message: dict[str, Any]) -> None:
        try:
            self.svc.client.chat_postMessage(channel=self.q.channel_id,
                                             thread_ts=self._part_thread(),
                                             text=message["text"], blocks=message["blocks"],
                                             unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            self.svc.slack_error("chat.postMessage", exc)
            raise

    def _update(self, text: str, blocks: list[Any]) -> None:
        try:
            self.svc.client.chat_update(channel=self.q.channel_id, ts=self.ts, text=text,
                                        blocks=blocks)
        except SlackApiError as exc:
            self.svc.slack_error("chat.update", exc)
            raise


def tell(svc: Services, q: Question, text: str) -> None:
    """A note only the asker sees (in a DM every message is only theirs), posted from
    the notes pool: a slow or rate-limited Web API must never hold up an ack or a worker."""
    try:
        svc.notes.submit(_post_note, svc, q, text)
    except Busy:
        log.warning("note to %s dropped: the notes queue is full", q.user_id)


def _post_note(svc: Services, q: Question, text: str) -> None:
    dm = q.visibility == "dm"
    method = "chat.postMessage" if dm else "chat.postEphemeral"
    try:
        if dm:
            svc.client.chat_postMessage(channel=q.channel_id, thread_ts=q.thread_ts, text=text)
        else:
            svc.client.chat_postEphemeral(channel=q.channel_id, user=q.user_id,
                                          thread_ts=q.thread_ts, text=text)
    except SlackApiError as exc:
        svc.slack_error(method, exc)
