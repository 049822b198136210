"""Answers stream natively into their thread (chat.startStream / appendStream /
stopStream), show a status while they are prepared, stop on the stop button, and fall back
to the placeholder path where a workspace refuses streaming (issue 12).

Real app, real index and model, signed HTTP (one test over Socket Mode) against the Slack
stand-in; the LLM is the scripted OpenAI-compatible server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack import messages
from bot.slack.native_stream import REFUSED, REFUSED_HERE
from tests.blocks_check import assert_within_limits, texts
from tests.fake_openai import Reply, fake_llm, sse
from tests.slack_fixtures import EMPLOYEE, GENERAL, MANAGER, SlackBot, make_bot, next_ts
from tests.slack_signing import app_mention, event_body, event_envelope, message_event
from tests.slack_standin import TEAM_ID
from tests.test_llm_screening import EVIL, OBEYING, POISONED
from tests.test_llm_screening import QUESTION as SSO_QUESTION
from tests.waiting import eventually

QUESTION = "How many days of annual leave do I get?"
ANSWER = ("Your allowance depends on the entity that employs you [1]. The leave year runs "
          "from 1 January to 31 December [1]. Fernhill Analytics in Portugal gives 25 working "
          "days of annual leave [1]. Everyone also gets two company closure days, 24 December "
          "and 31 December, which are paid days off [1].")
PIECES = [f" {w}" if i else w for i, w in enumerate(ANSWER.split(" "))]
DM = "DEMPLOYEE"


def _llm(base_url: str) -> dict[str, Any]:
    return {"generator": {"backend": "openai", "base_url": base_url, "model": "policy-voice",
                          "max_retries": 0, "timeout_s": 10, "connect_timeout_s": 1}}


def _bot(tmp_path: Path, home: Path, embedder: Any, base_url: str | None = None,
         **slack: Any) -> Iterator[SlackBot]:
    slack = {"streaming": "auto", "append_interval_s": 0.2, **slack}
    return make_bot(tmp_path, home, embedder, _llm(base_url) if base_url else None, **slack)


def _streams(bot: SlackBot) -> dict[str, list[Any]]:
    return {m: bot.slack.calls_to(m) for m in ("chat.startStream", "chat.appendStream",
                                              "chat.stopStream", "chat.postMessage",
                                              "chat.update")}


def _streamed_text(calls: dict[str, list[Any]]) -> list[str]:
    """Every piece of text sent through the stream, in order (start, appends, stop)."""
    sent = [c.params.get("markdown_text") or "" for c in calls["chat.startStream"]]
    sent += [c.params.get("markdown_text") or "" for c in calls["chat.appendStream"] if c.ok]
    sent += [c.params.get("markdown_text") or "" for c in calls["chat.stopStream"]]
    return sent


def _status_history(bot: SlackBot) -> list[str]:
    return [c.params["status"] for c in bot.slack.calls_to("assistant.threads.setStatus")]


def test_a_channel_mention_streams_checked_text_and_ends_with_sources_and_feedback(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    with fake_llm(Reply(body=sse(*PIECES), event_delay=0.08)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        ts = next_ts()
        bot.mention(QUESTION, ts=ts)
        bot.settle()
        calls = _streams(bot)
        (start,), (stop,) = calls["chat.startStream"], calls["chat.stopStream"]
        assert start.params["channel"] == GENERAL and start.params["thread_ts"] == ts
        assert start.params["recipient_user_id"] == EMPLOYEE
        assert start.params["recipient_team_id"] == TEAM_ID
        assert calls["chat.appendStream"], "the answer was shown while being written"
        assert not calls["chat.postMessage"] and not calls["chat.update"], \
            "no placeholder, and the streamed text was final: nothing replaced"
        # what was streamed is exactly the checked answer, in order, sentence by sentence
        message = bot.slack.thread(GENERAL, ts)[-1]
        assert message["text"] == "".join(_streamed_text(calls))
        assert "25 working days" in message["text"]
        # under the streamed text: the sources and the feedback block, no answer text again
        tail = stop.json("blocks")
        assert_within_limits(tail)
        assert "25 working days" not in texts(tail)
        assert messages.SOURCES_HEADING.strip("*") in texts(tail)
        action_ids = json.dumps(tail)
        assert "feedback" in action_ids
        # the status: set with rotating loading messages, then cleared; the session went
        # to processing (stop button) and left it with the stop
        first = bot.slack.calls_to("assistant.threads.setStatus")[0]
        assert first.params["thread_ts"] == ts and first.params["status"]
        assert first.json("loading_messages") == list(messages.LOADING_MESSAGES)
        assert _status_history(bot)[-1] == ""
        assert bot.slack.statuses[(GENERAL, ts)]["status"] == ""
        session = bot.slack.calls_to("agents.sessions.setStatus")[0]
        assert session.params["status"] == "processing" and session.params["thread_ts"] == ts
        assert stop.params["session_status"] == "active"
        assert bot.slack.sessions[(GENERAL, ts)]["status"] == "active"
        # the answer is stored against the streamed message, for feedback and cite
        stored = bot.svc.history.latest_answer(GENERAL)
        assert stored.generator == "openai" and stored.message_ts == start.response["ts"]
        next(gen, None)


def test_a_dm_streams_into_the_thread_of_the_question(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    with fake_llm(Reply(body=sse(*PIECES), event_delay=0.05)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        ts = next_ts()
        bot.event(message_event(QUESTION, EMPLOYEE, DM, ts, None, channel_type="im"))
        bot.settle()
        (start,) = bot.slack.calls_to("chat.startStream")
        assert start.params["channel"] == DM and start.params["thread_ts"] == ts
        assert start.params["recipient_user_id"] == EMPLOYEE
        assert start.params["recipient_team_id"] == TEAM_ID
        assert "25 working days" in bot.slack.thread(DM, ts)[-1]["text"]
        assert _status_history(bot)[-1] == ""
        next(gen, None)


def test_an_extractive_answer_goes_out_in_one_go_through_the_stream(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    """No partial text: chat.startStream with none, then chat.stopStream with the whole
    answer's blocks, in a channel thread and in a DM."""
    gen = _bot(tmp_path, indexed_handbook, embedder)
    bot = next(gen)
    mention_ts, dm_ts = next_ts(), next_ts()
    bot.mention(QUESTION, ts=mention_ts)
    bot.event(message_event(QUESTION, EMPLOYEE, DM, dm_ts, None, channel_type="im"))
    bot.settle()
    calls = _streams(bot)
    assert not calls["chat.appendStream"] and not calls["chat.postMessage"]
    assert len(calls["chat.startStream"]) == len(calls["chat.stopStream"]) == 2
    for channel, ts in ((GENERAL, mention_ts), (DM, dm_ts)):
        (start,) = [c for c in calls["chat.startStream"] if c.params["channel"] == channel]
        assert start.params["thread_ts"] == ts and not start.params.get("markdown_text")
        assert start.params["recipient_user_id"] == EMPLOYEE
        final = bot.slack.thread(channel, ts)[-1]
        assert_within_limits(final["blocks"])
        assert "25" in texts(final["blocks"]) and "feedback" in json.dumps(final["blocks"])
        assert bot.slack.statuses[(channel, ts)]["status"] == ""
    next(gen, None)


def test_a_poisoned_sentence_never_appears_in_any_chunk_nor_the_final_message(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    with fake_llm(Reply(body=sse(*OBEYING), event_delay=0.08)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        (bot.docs / "it-security" / "single-sign-on.md").write_text(POISONED, encoding="utf-8")
        assert bot.svc.index.sync().ok
        ts = next_ts()
        bot.mention(SSO_QUESTION, ts=ts)
        bot.settle()
        calls = _streams(bot)
        assert calls["chat.startStream"], "the checked part of the answer was streamed"
        for method in ("chat.startStream", "chat.appendStream", "chat.stopStream",
                       "chat.update"):
            for call in calls[method]:
                body = json.dumps(call.params)
                assert EVIL not in body and "Re-enter" not in body, (method, body)
        final = bot.slack.thread(GENERAL, ts)[-1]
        shown = final["text"] + texts(final.get("blocks") or [])
        assert "12 hours" in shown and EVIL not in shown and "Re-enter" not in shown
        next(gen, None)


def test_the_stop_button_closes_the_llm_stream_and_says_it_stopped(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    slow = PIECES * 6  # long enough to be stopped half way
    with fake_llm(Reply(body=sse(*slow), event_delay=0.05)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        ts = next_ts()
        bot.mention(QUESTION, ts=ts)
        (start,) = bot.slack.wait_for("chat.startStream", timeout=60)
        stop_event = {"type": "agent_session_stopped", "channel": GENERAL, "thread_ts": ts,
                      "user": MANAGER, "streaming_message_ts": [start.response["ts"]],
                      "event_ts": next_ts()}
        assert bot.event(stop_event).status == 200
        time.sleep(0.5)
        assert not bot.svc.native.stop(GENERAL, "nope", EMPLOYEE)
        assert bot.svc.workers.submitted == 1 and not bot.slack.calls_to("chat.stopStream"), \
            "someone else's stop does not stop the asker's answer"
        stop_event.update(user=EMPLOYEE, event_ts=next_ts())
        acked = time.monotonic()
        assert bot.event(stop_event).status == 200
        bot.settle()
        assert time.monotonic() - acked < 5
        sent = llm.events_sent
        eventually(lambda: llm.hung_up, "the LLM server to see its stream closed", 3)
        assert sent < len(slow) // 2, "generation stopped well before the end"
        final = bot.slack.thread(GENERAL, ts)[-1]
        assert texts(final["blocks"]) == messages.STOPPED
        assert bot.slack.sessions[(GENERAL, ts)]["status"] == "active"
        assert bot.slack.statuses[(GENERAL, ts)]["status"] == ""
        assert bot.svc.history.latest_answer(GENERAL) is None, "a stopped answer is not kept"
        next(gen, None)


def test_the_stop_button_drops_an_extractive_answer_in_progress(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    gen = _bot(tmp_path, indexed_handbook, embedder)
    bot = next(gen)
    bot.slack.slow("agents.sessions.setStatus", 1.5, times=1)  # hold the answer in progress
    ts = next_ts()
    bot.mention(QUESTION, ts=ts)
    bot.slack.wait_for("agents.sessions.setStatus", timeout=60)
    bot.event({"type": "agent_session_stopped", "channel": GENERAL, "thread_ts": ts,
               "user": EMPLOYEE, "streaming_message_ts": [], "event_ts": next_ts()})
    bot.settle()
    shown = [m for m in bot.slack.thread(GENERAL, ts) if m.get("bot_id")]
    assert [texts(m["blocks"]) for m in shown] == [messages.STOPPED], "the answer not posted"
    assert bot.svc.history.latest_answer(GENERAL) is None
    assert bot.slack.sessions[(GENERAL, ts)]["status"] == "active"
    next(gen, None)


@pytest.mark.parametrize("code", sorted(REFUSED | REFUSED_HERE))
def test_a_refused_stream_falls_back_to_the_placeholder_and_is_remembered(
        code: str, tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    gen = _bot(tmp_path, indexed_handbook, embedder)
    bot = next(gen)
    bot.slack.fail("chat.startStream", error=code, times=None)
    first, second = next_ts(), next_ts()
    bot.mention(QUESTION, ts=first)
    bot.settle()
    # this answer: through the placeholder path, in the question's thread
    final = bot.slack.thread(GENERAL, first)[-1]
    assert final.get("bot_id") and "25" in texts(final["blocks"])
    assert len(bot.slack.calls_to("chat.startStream")) == 1
    bot.mention(QUESTION, ts=second)
    bot.settle()
    # the next one: straight to the placeholder, no second refusal to learn it again
    assert len(bot.slack.calls_to("chat.startStream")) == 1
    placeholder = [c for c in bot.slack.calls_to("chat.postMessage")
                   if c.params.get("thread_ts") == second]
    assert placeholder and placeholder[0].params["text"] == messages.WORKING
    assert "25" in texts(bot.slack.thread(GENERAL, second)[-1]["blocks"])
    next(gen, None)


def test_an_auth_error_is_not_a_refusal(tmp_path: Path, indexed_handbook: Path,
                                        embedder: Any) -> None:
    """not_in_channel would fail the placeholder too: no fallback, nothing remembered."""
    gen = _bot(tmp_path, indexed_handbook, embedder)
    bot = next(gen)
    bot.slack.fail("chat.startStream", error="not_in_channel", times=1)
    bot.mention(QUESTION)
    bot.settle()
    assert not bot.slack.calls_to("chat.postMessage")
    bot.mention(QUESTION)
    bot.settle()
    assert len(bot.slack.calls_to("chat.startStream")) >= 2, "the workspace still streams"
    assert bot.slack.calls_to("chat.stopStream")
    next(gen, None)


def test_streaming_off_uses_the_placeholder(tmp_path: Path, indexed_handbook: Path,
                                            embedder: Any) -> None:
    gen = _bot(tmp_path, indexed_handbook, embedder, streaming="off")
    bot = next(gen)
    bot.mention(QUESTION)
    bot.settle()
    assert not bot.slack.calls_to("chat.startStream")
    assert bot.slack.calls_to("chat.postMessage")[0].params["text"] == messages.WORKING
    next(gen, None)


def test_a_429_on_append_waits_its_retry_after_and_the_answer_completes(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    with fake_llm(Reply(body=sse(*PIECES), event_delay=0.06)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        bot.slack.append_min_interval_s, bot.slack.append_retry_after = 0.8, 1
        ts = next_ts()
        bot.mention(QUESTION, ts=ts)
        bot.settle()
        appends = bot.slack.calls_to("chat.appendStream")
        limited = [c for c in appends if c.status == 429]
        assert limited, "the stand-in's rate was exceeded at least once"
        for hit in limited:
            later = [c for c in appends if c.at > hit.at]
            assert all(c.at - hit.at >= 0.95 for c in later), "waited for Retry-After"
        message = bot.slack.thread(GENERAL, ts)[-1]
        assert message["text"] == "".join(_streamed_text(_streams(bot)))
        # streamed text is escaped Markdown: Slack shows it without the backslashes
        assert "31 December, which are paid days off [1]." in re.sub(r"\\(.)", r"\1",
                                                                      message["text"])
        next(gen, None)


def test_a_slack_retry_during_a_stream_never_answers_twice(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    with fake_llm(Reply(body=sse(*PIECES), event_delay=0.08)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        ts = next_ts()
        body, ctype = event_body(app_mention(f"<@UBOT> {QUESTION}", EMPLOYEE, GENERAL, ts),
                                 "EvRETRYSTREAM")
        assert bot.dispatch(body, ctype).status == 200
        bot.slack.wait_for("chat.startStream", timeout=60)
        assert bot.dispatch(body, ctype, retry_num=1).status == 200  # mid-stream
        bot.settle()
        assert len(bot.slack.calls_to("chat.startStream")) == 1
        assert len(bot.slack.calls_to("chat.stopStream")) == 1
        assert len(llm.requests) == 1
        assert len([m for m in bot.slack.thread(GENERAL, ts) if m.get("bot_id")]) == 1
        next(gen, None)


def test_a_dm_over_socket_mode_streams(tmp_path: Path, indexed_handbook: Path,
                                       embedder: Any) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from tests.socket_standin import SocketModeStandIn

    with SocketModeStandIn() as wss, fake_llm(Reply(body=sse(*PIECES),
                                                    event_delay=0.03)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        bot.slack.socket = wss
        handler = SocketModeHandler(bot.app, app_token="xapp-1-A0TEST-1-socket",
                                    web_client=bot.svc.client)
        try:
            handler.connect()
            ts = next_ts()
            event = message_event(QUESTION, EMPLOYEE, DM, ts, None, channel_type="im")
            envelope = wss.send_envelope("events_api", event_envelope(event, "EvSOCKSTREAM"))
            wss.wait_for_ack(envelope, timeout=10)
            bot.slack.wait_for("chat.stopStream", timeout=60)
            bot.settle()
        finally:
            handler.close()
        (start,) = bot.slack.calls_to("chat.startStream")
        assert start.params["thread_ts"] == ts and start.params["recipient_user_id"] == EMPLOYEE
        assert bot.slack.calls_to("chat.appendStream")
        assert "25 working days" in bot.slack.thread(DM, ts)[-1]["text"]
        next(gen, None)


def test_streamed_text_the_final_answer_does_not_show_is_replaced_whole(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    """The LLM's stream breaks after two checked sentences went out; the answer falls back
    to the extractive one. The stream is stopped and its message replaced by the final
    answer's blocks, so the LLM's partial text does not stay as if it were the answer."""
    # starts with its third sentence, which the extractive answer does not start with
    late = ANSWER[ANSWER.index("Fernhill"):].split(" ")
    pieces = [f" {w}" if i else w for i, w in enumerate(late)][:24]
    with fake_llm(Reply(body=sse(*pieces, done=False), truncate=True)) as llm:
        gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot = next(gen)
        ts = next_ts()
        bot.mention(QUESTION, ts=ts)
        bot.settle()
        (start,), (stop,) = (bot.slack.calls_to("chat.startStream"),
                             bot.slack.calls_to("chat.stopStream"))
        assert start.params["markdown_text"].startswith("Fernhill Analytics in Portugal")
        assert not stop.params.get("blocks") and not stop.params.get("markdown_text")
        (replaced,) = bot.slack.calls_to("chat.update")
        assert replaced.params["ts"] == start.response["ts"] and replaced.at > stop.at
        final = bot.slack.thread(GENERAL, ts)[-1]
        assert final["blocks"] == replaced.json("blocks")
        assert final["text"] == replaced.params["text"]
        assert not final["text"].startswith("Fernhill"), "the streamed text is gone"
        assert "unavailable" in texts(final["blocks"])  # the extractive fallback's note
        assert bot.svc.history.latest_answer(GENERAL).generator == "extractive"
        next(gen, None)


def test_a_workspaces_appends_stay_within_its_rate_whatever_the_concurrency() -> None:
    """50 answers streaming at once share the workspace's chat.appendStream budget (Slack's
    Tier 4 is per workspace and method): granted appends never exceed the burst plus the
    rate, however hard they are asked for; another workspace has its own budget."""
    import threading

    from bot.slack.native_stream import BUCKET, AppendBudget

    budget = AppendBudget(per_minute=600)  # 10 a second, so the test takes 1.5 s
    granted = {"T1": 0, "T2": 0}
    lock = threading.Lock()
    began = time.monotonic()

    def answer(team: str) -> None:
        while time.monotonic() - began < 1.5:
            if budget.take(team):
                with lock:
                    granted[team] += 1
            time.sleep(0.005)

    threads = [threading.Thread(target=answer, args=("T1" if i % 5 else "T2",))
               for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    for team in granted:
        assert BUCKET <= granted[team] <= BUCKET + 10 * elapsed + 1, granted
    budget.pause("T1", 1.0)
    time.sleep(0.25)  # both buckets refill a little: only the pause tells them apart
    assert not budget.take("T1") and budget.take("T2"), "a 429 pauses its workspace only"
