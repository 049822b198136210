"""``/policy`` and its sub-commands, dispatched as signed slash-command requests."""

from __future__ import annotations

import json
import time

from bot.slack import messages
from tests.blocks_check import assert_within_limits, texts
from tests.slack_fixtures import ADMIN, EMPLOYEE, GENERAL, GROUP_ADMIN, SlackBot


def _body(response) -> dict:
    return json.loads(response.body) if response.body else {}


def test_a_question_is_answered_privately_with_a_share_button(slack_bot: SlackBot) -> None:
    response, name = slack_bot.command("How many days of annual leave do I get?")
    assert response.status == 200
    assert _body(response)["response_type"] == "ephemeral"  # "Searching…" at once
    slack_bot.settle()
    (reply,) = slack_bot.responses(name)
    assert reply.params["response_type"] == "ephemeral"
    assert reply.params["replace_original"] is True
    blocks = reply.json("blocks")
    assert_within_limits(blocks)
    assert "25" in texts(blocks)
    ids = [e["action_id"] for b in blocks if b["type"] in ("actions", "context_actions")
           for e in b["elements"]]
    assert ids == ["answer_feedback", "share_answer"]  # native 👍/👎, then Share
    assert not slack_bot.slack.calls_to("chat.postMessage"), "nothing public was posted"


def test_a_question_mentioning_payload_is_still_a_question(slack_bot: SlackBot) -> None:
    response, name = slack_bot.command("What is the payload of the travel booking tool?")
    assert response.status == 200
    slack_bot.settle()
    assert slack_bot.responses(name)


def test_help_is_immediate(slack_bot: SlackBot) -> None:
    for text in ("help", ""):
        response, _ = slack_bot.command(text)
        assert "/policy cite" in json.dumps(_body(response))


def test_reindex_is_refused_politely_for_non_admins(slack_bot: SlackBot) -> None:
    runs = len(slack_bot.svc.index.state.runs())
    response, name = slack_bot.command("reindex", user=EMPLOYEE)
    assert response.status == 200
    slack_bot.settle()
    (reply,) = slack_bot.responses(name)
    assert reply.params["text"] == messages.NOT_ADMIN
    assert len(slack_bot.svc.index.state.runs()) == runs, "nothing ran"
    assert not slack_bot.posted()


def test_reindex_acks_before_any_user_group_lookup(slack_bot: SlackBot) -> None:
    """Whether the caller is an admin can take a ``usergroups.users.list`` call (slow, or
    rate-limited for seconds): it is made after the ack, never before it."""
    slack_bot.slack.slow("usergroups.users.list", 2, times=1)
    began = time.perf_counter()
    response, name = slack_bot.command("reindex", user=EMPLOYEE)  # not a listed admin
    acked = time.perf_counter() - began
    assert response.status == 200 and acked < 1.0, f"ack took {acked:.2f}s"
    slack_bot.settle()
    assert slack_bot.slack.calls_to("usergroups.users.list"), "the group was looked up"
    (reply,) = slack_bot.responses(name)
    assert reply.params["text"] == messages.NOT_ADMIN


def test_admins_reindex_with_progress_and_result_in_a_dm(slack_bot: SlackBot) -> None:
    for admin in (ADMIN, GROUP_ADMIN):  # listed by id; member of slack.admin_group
        slack_bot.slack.reset()
        response, name = slack_bot.command("reindex handbook", user=admin)
        assert response.status == 200
        slack_bot.settle(120)
        assert "Re-indexing" in slack_bot.responses(name)[0].params["text"]
        (started,) = slack_bot.slack.calls_to("chat.postMessage")
        assert started.params["channel"] == admin
        final = slack_bot.slack.calls_to("chat.update")[-1]
        assert "Re-indexed" in final.params["text"] and "unchanged" in final.params["text"]
        run = slack_bot.svc.index.state.runs("handbook")[-1]
        assert run.trigger == "slack-reindex" and run.status == "ok"


def test_reindex_of_an_unknown_source_lists_the_known_ones(slack_bot: SlackBot) -> None:
    response, _ = slack_bot.command("reindex nope", user=ADMIN)
    assert "`handbook`" in _body(response)["text"]


def test_status_lists_sources(slack_bot: SlackBot) -> None:
    _, name = slack_bot.command("status")
    slack_bot.settle()
    (reply,) = slack_bot.responses(name)
    assert_within_limits(reply.json("blocks"))
    assert "handbook" in texts(reply.json("blocks"))


def test_cite_shows_verbatim_passages_of_the_latest_answer(slack_bot: SlackBot) -> None:
    slack_bot.mention("How many days of annual leave do I get?", ts="1700000600.000100")
    slack_bot.settle()
    record = slack_bot.svc.history.latest_answer(GENERAL)
    _, name = slack_bot.command("cite")
    slack_bot.settle()
    (reply,) = slack_bot.responses(name)
    shown = texts(reply.json("blocks"))
    for citation in record.citations:
        assert citation["title"] in shown
        assert " ".join(citation["quote"].split()[:6]) in " ".join(shown.split())


def test_cite_by_message_link(slack_bot: SlackBot) -> None:
    slack_bot.mention("What is the meal allowance when travelling?", ts="1700000700.000100")
    slack_bot.settle()
    slack_bot.mention("How many days of annual leave do I get?", ts="1700000800.000100")
    slack_bot.settle()
    first = slack_bot.svc.history.answer_at(GENERAL, "1700000700.000100")
    link = (f"<https://policybot-test.slack.com/archives/{GENERAL}/p"
            f"{first.message_ts.replace('.', '')}>")
    _, name = slack_bot.command(f"cite {link}")
    slack_bot.settle()
    (reply,) = slack_bot.responses(name)
    shown = texts(reply.json("blocks"))
    assert first.citations[0]["title"] in shown
    assert "annual-leave" not in json.dumps(reply.json("blocks"))


def test_refresh_reports_what_changed_in_the_cited_documents(slack_bot: SlackBot) -> None:
    slack_bot.mention("How many days of annual leave do I get?", ts="1700000900.000100")
    slack_bot.settle()
    record = slack_bot.svc.history.latest_answer(GENERAL)
    cited = record.citations[0]
    path = slack_bot.docs / cited["path"]
    path.write_text(path.read_text() + "\n\nUpdated: leave requests now go through Beacon.\n")
    _, name = slack_bot.command("refresh")
    slack_bot.settle(120)
    replies = [r.params["text"] for r in slack_bot.responses(name)]
    assert any(cited["title"] in t and "changed" in t for t in replies), replies


GUIDE = "people/manager-guide-compensation.md"  # audience: managers
LEAVE = "people/annual-leave.md"  # public


def _touch(bot: SlackBot, rel: str, text: str) -> None:
    path = bot.docs / rel
    path.write_text(path.read_text() + f"\n\n{text}\n")


def test_refresh_names_only_changed_documents_the_caller_may_see(slack_bot: SlackBot) -> None:
    """A named refresh lists every changed document, but only those the caller's
    audiences may read: a changed (or removed) manager-only document is not named to an
    employee, and is to a manager."""
    from tests.slack_fixtures import MANAGER

    _touch(slack_bot, GUIDE, "Budget note for managers.")
    _touch(slack_bot, LEAVE, "Leave requests now go through Beacon.")
    _, name = slack_bot.command("refresh handbook", user=EMPLOYEE)
    slack_bot.settle(120)
    text = slack_bot.responses(name)[-1].params["text"]
    assert LEAVE in text  # control: the public change is named
    assert "manager-guide" not in text
    _touch(slack_bot, GUIDE, "Another budget note.")
    _, name = slack_bot.command("refresh handbook", user=MANAGER)
    slack_bot.settle(120)
    assert GUIDE in slack_bot.responses(name)[-1].params["text"]  # control: its audience
    _touch(slack_bot, LEAVE, "And one more change.")
    (slack_bot.docs / GUIDE).unlink()  # a removal names the document too: not to outsiders
    _, name = slack_bot.command("refresh handbook", user=EMPLOYEE)
    slack_bot.settle(120)
    text = slack_bot.responses(name)[-1].params["text"]
    assert LEAVE in text and "manager-guide" not in text


def test_refresh_and_cite_questions_count_against_the_rate_limit(
        tmp_path, indexed_handbook, embedder) -> None:
    """A refresh is refused at the ack; a question (``cite QUESTION`` or a plain one) is
    refused by the Ask after the ack, through the response URL, like every question."""
    from tests.slack_fixtures import make_bot

    for bot in make_bot(tmp_path, indexed_handbook, embedder, rate_limit=2):
        runs = len(bot.svc.index.state.runs("handbook"))
        for text in ("refresh handbook", "cite How many days of annual leave do I get?"):
            response, _ = bot.command(text)
            assert "faster than I can answer" not in json.dumps(_body(response))
        bot.settle(120)
        response, _ = bot.command("refresh handbook")
        assert "faster than I can answer" in _body(response)["text"]
        for text in ("cite What is the meal allowance?", "Any question?"):
            _, name = bot.command(text)
            bot.settle(120)
            (reply,) = bot.responses(name)
            assert "faster than I can answer" in reply.params["text"], text
            assert not reply.json("blocks"), "no answer was shown"
        bot.settle(120)
        assert len(bot.svc.index.state.runs("handbook")) == runs + 1, "one refresh ran"
        response, _ = bot.command("help")  # help and status are never limited
        assert "/policy cite" in json.dumps(_body(response))


def test_a_named_refresh_of_a_web_source_is_for_admins_only(
        tmp_path, indexed_handbook, embedder) -> None:
    from tests.slack_fixtures import make_bot, slack_settings

    sources = slack_settings(tmp_path, tmp_path / "docs")["sources"]
    web = {"name": "intranet", "type": "web", "urls": ["http://127.0.0.1:9/policies/"]}
    for bot in make_bot(tmp_path, indexed_handbook, embedder,
                        top={"sources": [*sources, web]}):
        _, name = bot.command("refresh intranet", user=EMPLOYEE)
        bot.settle(120)
        (reply,) = bot.responses(name)
        assert reply.params["text"] == messages.REFRESH_WEB_ADMIN_ONLY
        assert bot.svc.index.state.runs("intranet") == []
        _, name = bot.command("refresh handbook", user=EMPLOYEE)  # not a web source
        bot.settle(120)
        assert "Refreshed" in bot.responses(name)[-1].params["text"]
        _, name = bot.command("refresh intranet", user=ADMIN)  # control: an admin may
        bot.settle(120)
        assert bot.responses(name)[-1].params["text"] != messages.REFRESH_WEB_ADMIN_ONLY
        assert bot.svc.index.state.runs("intranet"), "the admin's refresh ran"
