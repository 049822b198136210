"""With an LLM behind it, the placeholder shows the answer as it is written (throttled),
and a down LLM still gets the asker a quoted answer with a note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.blocks_check import texts
from tests.fake_openai import Reply, fake_llm, hang_up_server, sse
from tests.slack_fixtures import GENERAL, make_bot

PIECES = ["Full-time", " employees", " get", " 25", " days", " of", " paid", " annual",
          " leave", " each", " calendar", " year", " [1].", ""]


def _llm(base_url: str) -> dict[str, Any]:
    return {"backend": "openai", "base_url": base_url, "model": "policy-voice",
            "max_retries": 0, "timeout_s": 10, "connect_timeout_s": 1}


def _bot(tmp_path: Path, home: Path, embedder: Any, base_url: str):
    from bot.settings import load_app_settings

    gen = iter(make_bot(tmp_path, home, embedder, stream_interval_s=0.3))
    bot = next(gen)
    # same app, but answering through the LLM: rebuild the answerer from new settings
    bot.svc.settings = load_app_settings(None, **{
        **bot.svc.settings.model_dump(), "generator": _llm(base_url)})
    bot.svc._answerer = None
    return bot, gen


def test_partial_text_replaces_the_placeholder_at_most_once_per_interval(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    with fake_llm(Reply(body=sse(*PIECES), event_delay=0.12)) as llm:
        bot, gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url)
        bot.mention("How many days of annual leave do I get?")
        bot.settle()
        updates = bot.slack.calls_to("chat.update")
        partial, final = updates[:-1], updates[-1]
        assert len(partial) >= 2, "the answer was shown while being written"
        gaps = [b.at - a.at for a, b in zip(partial, partial[1:], strict=False)]
        assert all(g >= 0.25 for g in gaps), gaps
        assert "writing" in texts(partial[0].json("blocks"))
        shown = texts(final.json("blocks"))
        assert "25 days" in shown and "writing" not in shown
        assert bot.svc.history.latest_answer(GENERAL).generator == "openai"
        next(gen, None)


def test_a_down_llm_still_answers_from_the_policies_with_a_note(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    with hang_up_server() as (base_url, _):
        bot, gen = _bot(tmp_path, indexed_handbook, embedder, base_url)
        bot.mention("How many days of annual leave do I get?")
        bot.settle()
        shown = texts(bot.slack.calls_to("chat.update")[-1].json("blocks"))
        assert "25" in shown and "unavailable" in shown
        next(gen, None)
