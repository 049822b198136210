"""One Ask path: every surface answers in one order (claim → who → rate limit → answer →
record → metrics), proven through signed requests to the app and the Slack stand-in,
and the result reports what answered (passages, model, adapter, fallback)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from bot.history_tables import answers
from tests.fake_openai import hang_up_server
from tests.slack_fixtures import (
    EMPLOYEE,
    GENERAL,
    HR_ONLY,
    MANAGER,
    SlackBot,
    make_bot,
    next_ts,
)

Q = "How many days of annual leave do I get?"
FOLLOW = "Can I carry any of them over to next year?"
LIMITED = "faster than I can answer"
SURFACES = ("mention", "thread", "dm", "command", "cite", "share")


def _answers(bot: SlackBot) -> dict[str, int]:
    """Stored answers by visibility."""
    with bot.svc.history.engine.connect() as conn:
        rows = conn.execute(select(answers.c.visibility, func.count())
                            .group_by(answers.c.visibility)).all()
    return {visibility: n for visibility, n in rows}


def _sample(bot: SlackBot, name: str, **labels: str) -> float:
    return bot.svc.metrics.registry.get_sample_value(name, labels) or 0.0


def _share_id(bot: SlackBot, response: str) -> str:
    """The answer id on the Share button of a ``/policy`` answer."""
    (reply,) = bot.responses(response)
    return next(e["value"] for b in reply.json("blocks") if b["type"] == "actions"
                for e in b["elements"] if e["action_id"] == "share_answer")


def test_every_surface_records_its_answer_and_counts_its_question(slack_bot: SlackBot) -> None:
    bot, root = slack_bot, next_ts()
    bot.mention(Q, ts=root)
    bot.settle()
    bot.reply(FOLLOW, thread_ts=root)
    bot.dm(Q)
    _, mine = bot.command(Q)
    _, cited = bot.command(f"cite {Q}")
    _, managers = bot.command(Q, user=MANAGER)  # drawn with the managers audience
    bot.settle()
    bot.click("share_answer", _share_id(bot, mine))  # public: posted again as it was
    bot.click("share_answer", _share_id(bot, managers), user=MANAGER)  # asked again
    bot.settle()

    assert _answers(bot) == {"public": 4, "dm": 1, "ephemeral": 3}
    counted = {s: _sample(bot, "policybot_questions_total", surface=s) for s in SURFACES}
    assert counted == {"mention": 1, "thread": 1, "dm": 1, "command": 2, "cite": 1,
                       "share": 2}
    outcomes = bot.svc.metrics.registry.collect()
    shown = sum(s.value for m in outcomes if m.name == "policybot_answers"
                for s in m.samples if s.name == "policybot_answers_total")
    assert shown == 8, "every answer shown was counted by its outcome"
    (reply,) = bot.responses(cited)
    assert reply.json("blocks"), "cite QUESTION showed the passages"


def test_a_rate_limited_user_is_refused_on_every_surface(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    for bot in make_bot(tmp_path, indexed_handbook, embedder, rate_limit=1):
        root = next_ts()
        bot.mention(Q, user=MANAGER, ts=root)  # a thread the bot answered in
        _, first = bot.command(Q)  # the employee's one question in the window
        bot.settle()
        stored = _answers(bot)
        bot.mention(Q)
        bot.reply(FOLLOW, thread_ts=root)
        bot.dm(Q, channel="DEMPLOYEE")
        _, command = bot.command(Q)
        _, cite = bot.command(f"cite {Q}")
        _, share = bot.click("share_answer", _share_id(bot, first))
        bot.settle()

        assert _answers(bot) == stored, "nothing was answered or recorded"
        notes = [c for c in bot.slack.calls_to("chat.postEphemeral")
                 if c.params["user"] == EMPLOYEE]
        assert len(notes) == 2 and all(LIMITED in n.params["text"] for n in notes)
        (dm,) = bot.posted("DEMPLOYEE")
        assert LIMITED in dm.params["text"]
        for name in (command, cite, share):
            (reply,) = bot.responses(name)
            assert LIMITED in reply.params["text"] and not reply.json("blocks"), name
        assert _sample(bot, "policybot_rate_limited_total") == 6
        assert not [c for c in bot.slack.calls_to("chat.postMessage")
                    if c.params["channel"] == GENERAL and c.params.get("thread_ts") != root]


def test_a_slack_retry_is_claimed_before_it_counts_or_is_limited(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    """The claim is the first step: a retry neither uses up the asker's rate limit nor
    counts as a question, and is answered once."""
    from tests.slack_signing import app_mention, message_event

    for bot in make_bot(tmp_path, indexed_handbook, embedder, rate_limit=1):
        ts, dm_ts = next_ts(), next_ts()
        mention = app_mention(f"<@UBOT> {Q}", EMPLOYEE, GENERAL, ts)
        dm = message_event(Q, MANAGER, "DMANAGER", dm_ts, channel_type="im")
        for retry in (None, 1, 2):
            sign = {} if retry is None else {"retry_num": retry}
            assert bot.event(mention, event_id="EvASKRETRY1", **sign).status == 200
            assert bot.event(dm, event_id="EvASKRETRY2", **sign).status == 200
        bot.settle()
        assert len(bot.slack.calls_to("chat.postMessage")) == 2  # one placeholder each
        assert not bot.slack.calls_to("chat.postEphemeral"), "nobody was rate-limited"
        assert _answers(bot) == {"public": 1, "dm": 1}
        assert _sample(bot, "policybot_questions_total", surface="mention") == 1
        assert _sample(bot, "policybot_questions_total", surface="dm") == 1
        assert _sample(bot, "policybot_duplicate_deliveries_total") == 4


def test_a_thread_reply_is_acked_before_any_database_read(slack_bot: SlackBot) -> None:
    """Whether a reply is a follow-up depends on the thread's history: that read happens
    in the worker, never on the request thread that acks."""
    root = next_ts()
    slack_bot.mention(Q, ts=root)
    slack_bot.settle()
    on_request_thread: list[str] = []
    me = threading.get_ident()

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == me:
            on_request_thread.append(statement)

    engine = slack_bot.svc.history.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert slack_bot.reply(FOLLOW, thread_ts=root).status == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert on_request_thread == []
    slack_bot.settle()
    assert len([p for p in slack_bot.slack.calls_to("chat.postMessage")
                if p.params.get("thread_ts") == root]) == 2, "the follow-up was answered"


def _llm(base_url: str) -> dict[str, Any]:
    return {"backend": "openai", "base_url": base_url, "model": "policy-voice",
            "max_retries": 0, "timeout_s": 5, "connect_timeout_s": 1}


def test_the_result_reports_passages_model_adapter_and_fallback(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    from bot.ask import ANSWERED, Question

    adapters = {"paths": {"hr-voice": str(tmp_path / "a2")}}
    channels = [{"id": HR_ONLY, "sources": ["handbook"], "adapter": "hr-voice"}]
    with hang_up_server() as (base_url, _):
        for bot in make_bot(tmp_path, indexed_handbook, embedder,
                            {"generator": _llm(base_url), "adapters": adapters,
                             "channels": channels}):
            plain = bot.svc.ask(Question(Q, "command", user_id=EMPLOYEE, channel_id=GENERAL))
            tuned = bot.svc.ask(Question(Q, "command", user_id=EMPLOYEE, channel_id=HR_ONLY))
            for result in (plain, tuned):
                assert result.status == ANSWERED and result.answer is not None
                assert result.fell_back and result.generator == "extractive"
                assert result.passages, "the passages the answer was drawn from"
                used = {p.doc_id for p in result.passages}
                quoted = result.answer.citations + result.answer.evidence
                assert quoted and {c.doc_id for c in quoted} <= used
            assert (plain.model, plain.adapter) == ("policy-voice", None)
            assert (tuned.model, tuned.adapter) == ("hr-voice", "hr-voice")
            stored = bot.svc.history.answer(tuned.answer_id or "")
            assert stored is not None and stored.model == "hr-voice"
            assert _sample(bot, "policybot_answers_total", outcome="fallback") == 2


def test_the_adapter_gate_counts_fallbacks_from_results_not_from_the_log(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    """Fallbacks are counted from each answer's ``fell_back``: silencing (or rewording)
    the log changes nothing."""
    from bot.lora.evaluation import evaluate_variant

    items = [{"id": "1", "question": Q, "gold_paths": ["people/annual-leave.md"]},
             {"id": "2", "question": "whats the deadline to submit expenses?",
              "gold_paths": ["finance/expenses.md"]}]
    with hang_up_server() as (base_url, _):
        for bot in make_bot(tmp_path, indexed_handbook, embedder):
            settings, index = bot.svc.settings, bot.svc.index
            down = settings.generator.model_copy(update=_llm(base_url))
            logging.disable(logging.CRITICAL)
            try:
                fell = evaluate_variant(settings, index, items, down)
                plain = evaluate_variant(settings, index, items, settings.generator)
            finally:
                logging.disable(logging.NOTSET)
            assert fell["fallback_rate"] == 1.0
            assert plain["fallback_rate"] == 0.0
