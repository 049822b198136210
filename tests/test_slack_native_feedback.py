"""Issue 12, items 5 and 6: Slack's native 👍/👎 block, answers as a markdown block, and
answers too long for one message, over signed HTTP against the Slack stand-in.

A native feedback click arrives as a ``block_actions`` payload whose action has type
``feedback_buttons`` and carries the clicked button's ``value`` and ``text`` (Slack's
Block Kit reference; bolt-js ``FeedbackButtonsAction``).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.answering import numbered
from bot.slack import messages
from bot.slack.blocks import (
    answer_blocks,
    answer_markdown,
    answer_messages,
    closing_blocks,
    halve,
)
from bot.slack.blocks_feedback import FEEDBACK_ACTION, feedback_value, parse_feedback_value
from bot.slack.long_answers import send_all
from bot.slack.markdown import escape, render, split
from model.answer import Answer, AnswerSentence, Citation
from model.training.dataset import build_dataset, feedback_candidates
from tests.blocks_check import (
    assert_markdown_escaped,
    assert_message_within_limits,
    assert_view_within_limits,
    message_chars,
    texts,
)
from tests.slack_fixtures import EMPLOYEE, GENERAL, MANAGER, SlackBot
from tests.slack_signing import action_body, block_action, view_submission


def _ask(bot: SlackBot, question: str, ts: str) -> str:
    bot.mention(question, ts=ts)
    bot.settle()
    record = bot.svc.history.latest_answer(GENERAL)
    assert record is not None and record.question == question
    return record.id


def _native_click(bot: SlackBot, value: str, user: str = EMPLOYEE,
                  action_type: str = "feedback_buttons", **kw: Any) -> str:
    """A click on the feedback_buttons element as Slack sends it; returns the name its
    response_url answers are recorded under."""
    name = f"n{time.monotonic_ns()}"
    payload = block_action(FEEDBACK_ACTION, value, user, channel_id=GENERAL,
                           message_ts="1700009999.000100", block_id="Xy1z",
                           action_type=action_type,
                           response_url=bot.slack.response_url(name), **kw)
    payload["actions"][0]["text"] = {"type": "plain_text", "text": "👍", "emoji": True}
    body, ctype = action_body(payload)
    assert bot.dispatch(body, ctype).status == 200
    return name


def _final_blocks(bot: SlackBot) -> list[dict[str, Any]]:
    return [c for c in bot.slack.calls_to("chat.update") if c.ok][-1].json("blocks")


# -- item 5: native feedback -------------------------------------------------------------


def test_every_answer_carries_the_native_feedback_block_naming_its_answer(
        slack_bot: SlackBot) -> None:
    answer_id = _ask(slack_bot, "How many days of annual leave do I get?", "1700005000.000100")
    blocks = _final_blocks(slack_bot)
    assert_message_within_limits(blocks)
    (native,) = [b for b in blocks if b["type"] == "context_actions"]
    (buttons,) = native["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == FEEDBACK_ACTION
    assert parse_feedback_value(buttons["positive_button"]["value"]) == ("up", answer_id)
    assert parse_feedback_value(buttons["negative_button"]["value"]) == ("down", answer_id)
    assert not [b for b in blocks if b["type"] == "actions"], "no old 👍/👎 buttons"


def test_native_thumbs_up_is_stored_with_the_answer_and_thanked(slack_bot: SlackBot) -> None:
    answer_id = _ask(slack_bot, "How many days of annual leave do I get?", "1700005100.000100")
    name = _native_click(slack_bot, feedback_value("up", answer_id), user=MANAGER)
    slack_bot.settle()
    (thanks,) = slack_bot.responses(name)
    assert thanks.params["response_type"] == "ephemeral"
    assert thanks.params["text"] == messages.FEEDBACK_THANKS
    assert thanks.params["replace_original"] is False  # the answer stays
    (fb,) = slack_bot.svc.history.feedback_records("up")
    assert fb["answer_id"] == answer_id and fb["user_id"] == MANAGER
    assert fb["question"] == "How many days of annual leave do I get?"
    assert fb["citations"] and fb["citations"][0]["quote"]
    assert fb["model"] == "extractive" and fb["generator"] == "extractive"


def test_native_thumbs_down_opens_the_modal_and_its_answers_are_stored(
        slack_bot: SlackBot) -> None:
    answer_id = _ask(slack_bot, "How many days of annual leave do I get?", "1700005200.000100")
    _native_click(slack_bot, feedback_value("down", answer_id), trigger_id="77.native")
    slack_bot.settle()
    (fb,) = slack_bot.svc.history.feedback_records("down")  # stored before the modal
    assert fb["reasons"] == [] and fb["answer_id"] == answer_id
    (opened,) = slack_bot.slack.calls_to("views.open")
    assert opened.params["trigger_id"] == "77.native"
    view = opened.json("view")
    assert view["callback_id"] == "feedback_modal" and view["private_metadata"] == answer_id
    assert_view_within_limits(view)
    submitted = view_submission("feedback_modal", answer_id, EMPLOYEE, {
        "reasons": {"reasons": {"type": "checkboxes",
                                "selected_options": [{"value": "wrong"}]}},
        "details": {"details": "Canada has 20 days, not 25."}})
    body, ctype = action_body(submitted)
    assert slack_bot.dispatch(body, ctype).status == 200
    slack_bot.settle()
    (fb,) = slack_bot.svc.history.feedback_records("down")
    assert fb["reasons"] == ["wrong"] and fb["details"] == "Canada has 20 days, not 25."


@pytest.mark.parametrize(("value", "action_type"), [
    ("sideways:{id}", "feedback_buttons"),   # not a vote PolicyBot sends
    ("up:", "feedback_buttons"),             # no answer
    ("{id}", "feedback_buttons"),            # an old button's value under the new id
    ("up:{id}", "button"),                   # the action id, but not Slack's feedback element
])
def test_a_feedback_click_in_any_other_shape_records_nothing(
        slack_bot: SlackBot, value: str, action_type: str) -> None:
    answer_id = _ask(slack_bot, "How many days of annual leave do I get?", "1700005300.000100")
    name = _native_click(slack_bot, value.format(id=answer_id), action_type=action_type)
    slack_bot.settle()
    assert not slack_bot.svc.history.feedback_records()
    assert not slack_bot.responses(name) and not slack_bot.slack.calls_to("views.open")
    # control: the same answer takes a well-formed vote
    _native_click(slack_bot, feedback_value("up", answer_id))
    slack_bot.settle()
    assert len(slack_bot.svc.history.feedback_records("up")) == 1


def test_a_vote_on_an_unknown_answer_is_not_stored(slack_bot: SlackBot) -> None:
    name = _native_click(slack_bot, feedback_value("down", "0" * 32))
    slack_bot.settle()
    assert not slack_bot.svc.history.feedback_records()
    assert not slack_bot.responses(name) and not slack_bot.slack.calls_to("views.open")


def test_old_buttons_and_the_native_block_store_the_same_vote_alike(
        slack_bot: SlackBot) -> None:
    """Messages posted before issue 12 keep their feedback_up/feedback_down buttons; a click
    on them is still a vote, and a later native click by the same person replaces it."""
    answer_id = _ask(slack_bot, "How many days of annual leave do I get?", "1700005400.000100")
    slack_bot.click("feedback_down", answer_id, user=EMPLOYEE, trigger_id="1.old")
    slack_bot.settle()
    assert slack_bot.svc.history.feedback_records("down")
    assert len(slack_bot.slack.calls_to("views.open")) == 1  # the old 👎 still asks why
    _native_click(slack_bot, feedback_value("up", answer_id), user=EMPLOYEE)
    slack_bot.settle()
    assert not slack_bot.svc.history.feedback_records("down")  # one vote per person
    (up,) = slack_bot.svc.history.feedback_records("up")
    assert up["user_id"] == EMPLOYEE


def test_feedback_from_old_buttons_feeds_training_data_like_native_feedback(
        slack_bot: SlackBot) -> None:
    """The migration guarantee: rows the old buttons wrote (and still write, for old
    messages) are read by adapter training exactly like rows from the native block."""
    leave = _ask(slack_bot, "How many days of annual leave do I get?", "1700005500.000100")
    wellbeing = _ask(slack_bot, "What can I spend the wellbeing allowance on?",
                     "1700005600.000100")
    slack_bot.click("feedback_up", leave, user=MANAGER)            # old button
    slack_bot.click("feedback_up", wellbeing, user=MANAGER)        # old button
    slack_bot.settle()
    old_rows = slack_bot.svc.history.feedback_records("up")
    _native_click(slack_bot, feedback_value("up", leave), user=EMPLOYEE)  # native block
    slack_bot.settle()
    rows = slack_bot.svc.history.feedback_records("up")
    assert len(old_rows) == 2 and len(rows) == 3
    by_user = {(r["answer_id"], r["user_id"]): r for r in rows}
    old, new = by_user[(leave, MANAGER)], by_user[(leave, EMPLOYEE)]
    same = set(old) - {"id", "user_id", "created_at"}
    assert {k: old[k] for k in same} == {k: new[k] for k in same}
    assert set(old) == set(new)

    candidates = {c.question: c for c in feedback_candidates(rows)}
    assert candidates["How many days of annual leave do I get?"].votes == 2
    assert candidates["What can I spend the wellbeing allowance on?"].votes == 1
    retriever = slack_bot.svc.index.retriever()
    built = build_dataset([], rows, [], lambda q: numbered(retriever.search(q, k=5)))
    assert built.report["inputs"]["feedback_votes"] == 3
    assert built.report["inputs"]["feedback_answers"] == 2
    # a 👎 from an old button keeps the question out of the training targets, as before
    slack_bot.click("feedback_down", wellbeing, user=EMPLOYEE, trigger_id="2.old")
    slack_bot.settle()
    down = slack_bot.svc.history.feedback_records("down")
    built = build_dataset([], slack_bot.svc.history.feedback_records("up"), down,
                          lambda q: numbered(retriever.search(q, k=5)))
    assert built.report["inputs"]["downvoted_questions"] == 1
    assert {d["question"] for d in built.report["drops"] if d["reason"] == "downvoted"} == \
        {"What can I spend the wellbeing allowance on?"}


# -- item 6: the answer as a markdown block ----------------------------------------------


@pytest.mark.parametrize(("question", "expect"), [
    # a table row of the handbook comes back as a list line: still a list in Markdown
    ("How many days of annual leave do I get in Canada?", "- Employing entity:"),
    ("What can I spend the wellbeing allowance on?", "- gym memberships"),
    ("How do I claim travel expenses?", ""),
])
def test_real_answers_are_valid_markdown_blocks_with_linked_markers(
        slack_bot: SlackBot, question: str, expect: str) -> None:
    _ask(slack_bot, question, f"17000057{len(question):02d}.000100")
    blocks = _final_blocks(slack_bot)
    assert_message_within_limits(blocks)  # also slack_sdk's own MarkdownBlock validation
    md = [b for b in blocks if b["type"] == "markdown"]
    if not md:  # not answered as fact: evidence or not covered, in mrkdwn sections
        assert not expect
        return
    (block,) = md
    assert_markdown_escaped(block["text"])
    assert "[\\[1\\]](" in block["text"] or "\\[1\\]" in block["text"]  # [1] kept
    assert expect in block["text"]
    assert "*Sources*" in texts(blocks)


def test_markdown_shows_passage_text_literally_and_only_links_markers() -> None:
    evil = ("Ask <!channel> **now** _or_ `never` ~~x~~ [here](https://evil.example) "
            "& <@U123> | # not a heading")
    cites = [Citation(n=1, title="T", section="S", url="https://wiki.example.com/a b(1)",
                      source="h", path="a.md", quote="q")]
    lines = f"{evil} [1].\n# Heading?\n> quote?\n1986. A year, not a list [2].\n-5 days\n" \
            "- a list item [1].\n- another [1]."
    md = render(lines, cites)
    assert_markdown_escaped(md)
    assert "\\<\\!channel\\>" in md and "\\*\\*now\\*\\*" in md and "\\[here\\]" in md
    assert "[\\[1\\]](https://wiki.example.com/a%20b%281%29)" in md
    assert "\\[2\\]" in md and "[\\[2\\]](" not in md  # no citation 2: plain, escaped
    assert "\n\n\\# Heading?" in md and "\n\n\\> quote?" in md
    assert "1986\\. A year" in md and "\\-5 days" in md
    assert md.endswith("- a list item [\\[1\\]](https://wiki.example.com/a%20b%281%29).\n"
                       "- another [\\[1\\]](https://wiki.example.com/a%20b%281%29).")
    assert escape("a_b*c") == "a\\_b\\*c"
    # a link or an escape is never cut in two
    for piece in split(md, 60):
        assert_markdown_escaped(piece)


def _long_answer(paragraphs: int = 60) -> Answer:
    cites = [Citation(n=n, title=f"Policy {n}", section="Rules",
                      url=f"https://wiki.example.com/p{n}", source="h", path=f"p{n}.md",
                      quote="q") for n in range(1, 6)]
    sentences = [AnswerSentence(f"Rule {i}: " + "employees must follow this policy " * 12
                                + f"end {i}.", [i % 5 + 1]) for i in range(paragraphs)]
    text = "\n".join(f"{s.text[:-1]} [{s.citations[0]}]." for s in sentences)
    return Answer(question="Everything?", text=text, citations=cites, grounded=True,
                  sentences=sentences)


def test_a_long_answer_is_split_over_messages_and_nothing_is_lost() -> None:
    answer = _long_answer()
    whole = answer_markdown(answer)
    assert len(whole) > 25_000
    parts = answer_messages(answer, answer_id="a1")
    assert len(parts) >= 3
    for part in parts:
        assert_message_within_limits(part["blocks"])
        assert message_chars(part["blocks"]) <= 10_000
    assert parts[0]["text"].startswith("Rule 0:")
    assert all(p["text"] == messages.ANSWER_CONTINUED for p in parts[1:])
    shown = " ".join(b["text"] for p in parts for b in p["blocks"] if b["type"] == "markdown")
    assert " ".join(shown.split()) == " ".join(whole.split())  # every word, in order
    kinds = [[b["type"] for b in p["blocks"]] for p in parts]
    assert all("context_actions" not in k for k in kinds[:-1])
    assert kinds[-1][-1] == "context_actions" and "*Sources*" in texts(parts[-1]["blocks"])
    # where replies are few (a response_url takes 5), the text is cut at the last one
    capped = answer_messages(answer, answer_id="a1", share=True, max_messages=2)
    capped_md = [b["text"] for p in capped for b in p["blocks"] if b["type"] == "markdown"]
    assert len(capped_md) == 2 and capped_md[-1].endswith("…") and len(capped) <= 3
    assert capped[-1]["blocks"][-1]["elements"][0]["action_id"] == "share_answer"
    # the one-message form cuts instead, and says so
    single = answer_blocks(answer, answer_id="a1")
    assert_message_within_limits(single)
    assert single[0]["text"].endswith("…") and single[-1]["type"] == "context_actions"


def test_closing_blocks_are_the_sources_and_feedback_without_the_text() -> None:
    answer = _long_answer(3)
    (message,) = answer_messages(answer, answer_id="a9")
    closing = closing_blocks(message)
    assert_message_within_limits(closing)
    assert [b["type"] for b in closing] == ["context", "context_actions"]
    assert "Rule 0" not in texts(closing) and "*Sources*" in texts(closing)
    assert closing[-1]["elements"][0]["positive_button"]["value"] == "up:a9"


def test_a_stream_closes_with_the_blocks_its_message_built_rendered_once() -> None:
    """The Sources and 👍/👎 a stream ends with are those of the answer's message, the
    same objects, not a second rendering that could drift from it."""
    for answer in (_long_answer(3), Answer(question="q", text="", abstained=True)):
        (message,) = answer_messages(answer, answer_id="a9")
        closing = closing_blocks(message)
        after_text = [b for b in message["blocks"] if b["type"] != "markdown"]
        assert closing == after_text and all(a is b for a, b in zip(closing, after_text,
                                                                      strict=True))


def _refused(error: str) -> SlackApiError:
    return SlackApiError(error, SlackResponse(client=None, http_verb="POST", api_url="x",
                                              req_args={}, data={"ok": False, "error": error},
                                              headers={}, status_code=200))


def test_a_message_slack_refuses_as_too_long_is_sent_in_halves() -> None:
    parts = answer_messages(_long_answer(8), answer_id="a1")
    assert len(parts) == 1
    sent: list[tuple[str, dict[str, Any]]] = []
    refusals = ["msg_too_long", "msg_blocks_too_long"]

    def first(m: dict[str, Any]) -> None:
        if refusals:
            raise _refused(refusals.pop(0))
        sent.append(("update", m))

    assert send_all(parts, first, lambda m: sent.append(("post", m))) == len(sent) >= 3
    assert sent[0][0] == "update" and all(k == "post" for k, _ in sent[1:])
    shown = " ".join(b["text"] for _, m in sent for b in m["blocks"] if b["type"] == "markdown")
    assert " ".join(shown.split()) == " ".join(answer_markdown(_long_answer(8)).split())
    assert sent[-1][1]["blocks"][-1]["type"] == "context_actions"
    # any other refusal is not a size problem: it propagates, nothing is split
    with pytest.raises(SlackApiError):
        send_all(parts, lambda m: (_ for _ in ()).throw(_refused("channel_not_found")),
                 lambda m: None)
    assert halve({"text": "x", "blocks": [{"type": "markdown", "text": "short"}]}) is None


def test_an_answer_slack_refuses_as_too_long_reaches_the_thread_in_parts(
        slack_bot: SlackBot) -> None:
    """Over HTTP: chat.update of the placeholder is refused with msg_blocks_too_long; the
    answer then fills the placeholder in part and goes on in the thread."""
    slack_bot.slack.fail("chat.update", error="msg_blocks_too_long")
    root = "1700005900.000100"
    _ask(slack_bot, "How many days of annual leave do I get?", root)
    updates = slack_bot.slack.calls_to("chat.update")
    assert updates[0].response["error"] == "msg_blocks_too_long"
    assert updates[-1].ok
    posts = [c for c in slack_bot.slack.calls_to("chat.postMessage")
             if c.params.get("thread_ts") == root]
    placeholder, continued = posts[0], posts[1:]
    assert updates[-1].params["ts"] == placeholder.response["ts"]
    assert continued and all(c.ok for c in continued)
    assert continued[0].params["text"] == messages.ANSWER_CONTINUED
    shown = texts(updates[-1].json("blocks")) + "\n".join(
        texts(c.json("blocks")) for c in continued)
    assert "25" in shown and "*Sources*" in shown
    last = continued[-1].json("blocks")
    assert last[-1]["type"] == "context_actions"
    for call in [updates[-1], *continued]:
        assert_message_within_limits(call.json("blocks"))
