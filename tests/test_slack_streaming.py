"""With an LLM behind it, the placeholder shows the answer as it is written (throttled),
and a down LLM still gets the asker a quoted answer with a note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.blocks_check import texts
from tests.fake_openai import Reply, fake_llm, hang_up_server, sse
from tests.slack_fixtures import GENERAL, make_bot

# The stream shows finished, checked sentences (model.screen.CheckedStream), so the answer
# has several, each backed by the annual leave policy.
ANSWER = ("Your allowance depends on the entity that employs you [1]. The leave year runs "
          "from 1 January to 31 December [1]. Fernhill Analytics in Portugal gives 25 working "
          "days of annual leave [1]. Everyone also gets two company closure days, 24 December "
          "and 31 December, which are paid days off [1].")
PIECES = [f" {w}" if i else w for i, w in enumerate(ANSWER.split(" "))]


def _llm(base_url: str) -> dict[str, Any]:
    return {"backend": "openai", "base_url": base_url, "model": "policy-voice",
            "max_retries": 0, "timeout_s": 10, "connect_timeout_s": 1}


def _bot(tmp_path: Path, home: Path, embedder: Any, base_url: str, **top: Any):
    gen = iter(make_bot(tmp_path, home, embedder, {"generator": _llm(base_url), **top},
                        stream_interval_s=0.3))
    return next(gen), gen


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
        assert "Your allowance depends" in texts(partial[0].json("blocks"))
        shown = texts(final.json("blocks"))
        assert "25 working days" in shown and "writing" not in shown
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


def test_each_channel_is_answered_by_its_adapter(
        tmp_path: Path, indexed_handbook: Path, embedder: Any) -> None:
    """``[[channels]] adapter`` picks the LoRA adapter by name; other channels get the
    default; the adapter is stored with the answer, for feedback and training."""
    from tests.slack_fixtures import HR_ONLY

    adapters = {"default": "policy-voice-v2",
                "paths": {"policy-voice-v2": str(tmp_path / "a1"),
                          "hr-voice": str(tmp_path / "a2")}}
    channels = [{"id": HR_ONLY, "sources": ["handbook"], "adapter": "hr-voice"}]
    with fake_llm(Reply(body=sse(*PIECES))) as llm:
        bot, gen = _bot(tmp_path, indexed_handbook, embedder, llm.base_url,
                        adapters=adapters, channels=channels)
        for channel in (HR_ONLY, GENERAL):
            bot.mention("How many days of annual leave do I get?", channel=channel)
            bot.settle()
        asked = [r.json["model"] for r in llm.requests if r.json and "messages" in r.json]
        assert asked == ["hr-voice", "policy-voice-v2"]
        assert bot.svc.history.latest_answer(HR_ONLY).model == "hr-voice"
        next(gen, None)
