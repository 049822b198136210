"""Answers posted where they were asked: a channel thread or a DM.

The placeholder goes up first ("Searching the policies…"), partial text replaces it while
a generator streams, and the final answer replaces it in place, so the thread holds one
message per answer whatever happens.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.slack import kit, messages
from bot.slack.blocks import answer_blocks, answer_text, streaming_blocks, working_blocks
from bot.slack.outcome import failure_text, record_outcome
from bot.slack.services import Services
from bot.slack.streaming import Throttled
from indexer.state import utcnow
from model.passages import Turn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    user_id: str
    channel_id: str
    text: str
    thread_ts: str | None  # the thread to answer in; None = top level (DMs)
    private: bool  # a DM: only the asker reads the answer
    surface: str  # mention | thread | dm


DM_MEMORY = timedelta(minutes=15)  # a DM question this soon after an answer is a follow-up


def earlier_turns(svc: Services, q: Question) -> list[Turn]:
    """The thread's earlier answers; in a DM outside threads, the last one if recent."""
    if q.thread_ts:
        records = svc.history.thread_turns(q.channel_id, q.thread_ts)
    elif q.private:
        last = svc.history.latest_answer(q.channel_id)
        records = [last] if last is not None and utcnow() - last.created_at < DM_MEMORY else []
    else:
        records = []
    return [Turn(r.question, r.text) for r in records]


def answer_in_conversation(svc: Services, q: Question) -> None:
    """Runs in the worker pool, so the history reads are off the ack path too."""
    started = time.perf_counter()
    client = svc.client
    try:
        posted = client.chat_postMessage(channel=q.channel_id, thread_ts=q.thread_ts,
                                         text=messages.WORKING, blocks=working_blocks(),
                                         unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        svc.slack_error("chat.postMessage", exc)
        return
    ts = posted["ts"]

    def update(text: str, blocks: list) -> None:
        try:
            client.chat_update(channel=q.channel_id, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            svc.slack_error("chat.update", exc)
            raise

    stream = Throttled(lambda partial: update(messages.WORKING, streaming_blocks(partial)),
                       svc.settings.slack.stream_interval_s)
    asker = svc.access.asker(q.user_id, q.channel_id, q.private)
    try:
        answer, model = svc.answer(q.text, asker, earlier_turns(svc, q), on_text=stream,
                                   channel_id=q.channel_id)
    except Exception as exc:  # noqa: BLE001 - the user always gets a reply
        text = failure_text(svc, exc)
        with contextlib.suppress(SlackApiError):
            update(text, [kit.section(text)])
        return
    answer_id = svc.history.record_answer(
        answer, user_id=q.user_id, channel_id=q.channel_id, thread_ts=q.thread_ts or ts,
        visibility="dm" if q.private else "public", model=model,
        audiences=asker.audiences, sources=asker.sources)
    svc.history.set_message(answer_id, ts, q.thread_ts or ts)
    try:
        update(answer_text(answer), answer_blocks(answer, answer_id=answer_id))
    except SlackApiError:
        return
    record_outcome(svc, answer, time.perf_counter() - started)
