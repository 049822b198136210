"""What a Slack user sees of an answer, App Home and the feedback modal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.slack import messages
from bot.slack.blocks import (
    answer_blocks,
    answer_messages,
    answer_text,
    streaming_blocks,
    working_blocks,
)
from bot.slack.blocks_cite import cite_blocks, title_link
from bot.slack.blocks_commands import help_blocks, progress_blocks, sync_result_blocks
from bot.slack.blocks_feedback import feedback_modal
from bot.slack.blocks_home import home_view, status_blocks
from bot.slack.mrkdwn import escape, link, quote, split, truncate
from indexer.documents import RawDocument
from indexer.parsing import parse_document
from model.answer import Answer, AnswerSentence, Citation
from tests.blocks_check import (
    assert_escaped,
    assert_message_within_limits,
    assert_view_within_limits,
    assert_within_limits,
    texts,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
SAMPLE = Path(__file__).resolve().parents[1] / "indexer" / "sample_handbook"


def cite(n: int, title: str = "Leave policy", section: str = "Vacation", **kw: Any) -> Citation:
    fields: dict[str, Any] = {"url": f"https://wiki.example.com/doc{n}#s", "source": "handbook",
                              "path": f"doc{n}.md", "quote": f"Quoted passage {n}."}
    fields.update(kw)
    return Citation(n=n, title=title, section=section, **fields)


def grounded(sentences: list[AnswerSentence], citations: list[Citation]) -> Answer:
    text = " ".join(f"{s.text[:-1]} {''.join(f'[{n}]' for n in s.citations)}."
                    for s in sentences)
    return Answer(question="How much vacation?", text=text, citations=citations,
                  grounded=True, sentences=sentences)


VACATION = grounded([AnswerSentence("Employees get 25 days of vacation.", [1]),
                     AnswerSentence("Up to 5 days carry over.", [2])],
                    [cite(1, doc_version=SHA, doc_date="2024-05-01", version_label=SHA[:7],
                          dated_by="commit"),
                     cite(2, title="Carry-over", section="Rules", doc_version="1796158022088",
                          doc_date="2024-06-01", dated_by="document")])


def test_markers_link_to_their_citations_and_sources_are_listed() -> None:
    blocks = answer_blocks(VACATION, answer_id="a1")
    assert_within_limits(blocks)
    shown = texts(blocks)
    # the answer text is a markdown block: [n] is a Markdown link whose text is "[1]"
    assert "[\\[1\\]](https://wiki.example.com/doc1#s)" in shown
    assert "[\\[2\\]](https://wiki.example.com/doc2#s)" in shown
    assert ("[1] <https://wiki.example.com/doc1#s|Leave policy — Vacation> · commit 0123456 "
            "· committed 2024-05-01") in shown
    assert "[2] <https://wiki.example.com/doc2#s|Carry-over — Rules> · updated 2024-06-01" \
        in shown
    assert "1796158022088" not in shown  # an internal version (an mtime) means nothing to people
    assert "Quoted passage" not in shown  # quotes belong to /policy cite


def test_script_and_ampersand_are_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script> & <@U123>"
    answer = grounded([AnswerSentence(f"Ask HR {evil}.", [1])],
                      [cite(1, title=f"Policy {evil}", section="A&B")])
    answer.notes = [f"note {evil}"]
    blocks = answer_blocks(answer, answer_id="a1")
    assert_within_limits(blocks)
    shown = texts(blocks)
    assert "<script>" not in shown and "<@U123>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;@U123&gt;" in shown
    assert "A&amp;B" in shown
    assert_escaped(answer_text(answer))
    assert_within_limits(cite_blocks(answer))
    assert "<script>" not in texts(cite_blocks(answer))


def test_unsupported_sentence_is_never_shown() -> None:
    answer = grounded([AnswerSentence("Employees get 25 days of vacation.", [1]),
                       AnswerSentence("Managers may grant unlimited leave.", [1], supported=False,
                                      support=0.1),
                       AnswerSentence("Up to 5 days carry over.", [2])], [cite(1), cite(2)])
    blocks = answer_blocks(answer, answer_id="a1")
    shown = texts(blocks)
    assert "unlimited" not in shown and "unlimited" not in answer_text(answer)
    assert "Employees get 25 days of vacation [\\[1\\]](https://wiki.example.com/doc1#s)." in shown
    assert "Up to 5 days carry over" in shown
    assert messages.omitted_note(1) in shown
    assert "1 sentence was left out" in shown


def test_answer_with_no_supported_sentence_states_nothing_as_fact() -> None:
    answer = grounded([AnswerSentence("Managers may grant unlimited leave.", [1],
                                      supported=False)], [cite(1)])
    shown = texts(answer_blocks(answer, answer_id="a1"))
    assert "unlimited" not in shown
    assert messages.UNGROUNDED in shown
    ungrounded = Answer(question="q", text="Made-up fact.", grounded=False,
                        related=[cite(3, title="Travel")])
    shown = texts(answer_blocks(ungrounded, answer_id="a2"))
    assert "Made-up" not in shown and "Made-up" not in answer_text(ungrounded)
    assert messages.UNGROUNDED in shown and "Travel — Vacation" in shown


def test_abstained_answer_lists_related_documents_without_quotes() -> None:
    answer = Answer(question="Pets at work?", text="The policies I can see don't cover this.",
                    abstained=True, related=[cite(1, title="Office rules", section="Animals"),
                                             cite(2, title="Safety", section="")])
    blocks = answer_blocks(answer, answer_id="a1")
    assert_within_limits(blocks)
    shown = texts(blocks)
    assert messages.ABSTAIN in shown and messages.RELATED_HEADING in shown
    assert "<https://wiki.example.com/doc1#s|Office rules — Animals>" in shown
    assert "<https://wiki.example.com/doc2#s|Safety>" in shown
    assert "Quoted passage" not in shown
    assert texts(cite_blocks(answer)) == messages.NOTHING_TO_CITE


def test_huge_answer_stays_within_slack_limits() -> None:
    citations = [cite(n, title=f"Document {n} " + "x" * 150, section="S" * 100,
                      doc_version=SHA) for n in range(1, 61)]
    sentences = [AnswerSentence(f"Sentence {i} says something long about policy number {i} "
                                + "and more words " * 8 + ".", [i % 60 + 1]) for i in range(90)]
    answer = grounded(sentences, citations)
    assert len(answer.text) >= 12_000
    blocks = answer_blocks(answer, answer_id="a1", share=True)  # one message: cut to fit
    assert_message_within_limits(blocks)
    assert "Sentence 0 says" in texts(blocks) and "…" in texts(blocks)
    parts = answer_messages(answer, answer_id="a1", share=True)  # all of it, over several
    assert len(parts) > 1
    for part in parts:
        assert_message_within_limits(part["blocks"])
    shown = "\n".join(texts(p["blocks"]) for p in parts)
    assert "Sentence 89 says" in shown and "[60]" in shown
    assert_within_limits(cite_blocks(answer))


def test_enormous_answer_is_cut_with_a_count_of_what_is_left_out() -> None:
    citations = [cite(n) for n in range(1, 601)]
    sentences = [AnswerSentence(f"Fact {i} " + "word " * 60 + ".", [i % 600 + 1])
                 for i in range(2000)]
    answer = grounded(sentences, citations)
    blocks = answer_blocks(answer, answer_id="a1", share=True)
    assert_message_within_limits(blocks)
    assert [b["type"] for b in blocks[-2:]] == ["context_actions", "actions"]
    assert "…and " in texts(blocks) and "more" in texts(blocks)
    cited = cite_blocks(answer)
    assert_within_limits(cited)
    assert "…and 552 more" in texts(cited)
    assert len(answer_text(answer)) <= 3000


def test_feedback_buttons_carry_the_answer_id_and_share_only_when_asked() -> None:
    blocks = answer_blocks(VACATION, answer_id="ans-42")
    assert not [b for b in blocks if b["type"] == "actions"]  # no Share, no old buttons
    (native,) = [b for b in blocks if b["type"] == "context_actions"]
    (element,) = native["elements"]
    assert element["type"] == "feedback_buttons" and element["action_id"] == "answer_feedback"
    assert element["positive_button"]["value"] == "up:ans-42"
    assert element["negative_button"]["value"] == "down:ans-42"
    shared = answer_blocks(VACATION, answer_id="ans-42", share=True)
    share = [e for b in shared if b["type"] == "actions" for e in b["elements"]
             if e["action_id"] == "share_answer"]
    assert share and share[0]["value"] == "ans-42" and share[0]["style"] == "primary"
    quiet = answer_blocks(VACATION, answer_id="ans-42", feedback=False)
    assert not [b for b in quiet if b["type"] in ("actions", "context_actions")]


def test_notes_are_shown_and_placeholders_are_never_empty() -> None:
    answer = grounded(VACATION.sentences, VACATION.citations)
    answer.notes = ["The answer writer is unavailable; showing the best passages."]
    assert "answer writer is unavailable" in texts(answer_blocks(answer, answer_id="a"))
    assert messages.WORKING in texts(working_blocks())
    assert_within_limits(streaming_blocks(""))
    stream = streaming_blocks("Employees <b>get</b> " + "more " * 3000)
    assert_within_limits(stream)
    assert "&lt;b&gt;" in texts(stream) and messages.WRITING in texts(stream)


def status(n_sources: int = 2, documents: int = 3) -> dict[str, Any]:
    finished = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    sources = [{"name": f"src{i}", "type": "git", "schedule": "0 * * * *", "audience": None,
                "documents": documents, "chunks": 40, "next_run": finished,
                "next_run_scheduled": True,
                "last_sync": {"finished_at": finished, "status": "partial", "trigger": "manual",
                              "added": 1, "updated": 2, "unchanged": 3, "deleted": 0,
                              "failed": 1, "seconds": 4.2, "error": None,
                              "failures": [("bad <doc>.pdf", "unreadable & broken")]}}
               for i in range(n_sources)]
    return {"home": "/x", "index": "/x/lance", "embedding_model": "m", "sources": sources,
            "unconfigured_sources_in_index": ["old"]}


def test_home_view_shows_sources_and_reindex_only_for_admins() -> None:
    admin = home_view(status(), is_admin=True)
    assert_view_within_limits(admin)
    buttons = [b["accessory"] for b in admin["blocks"] if "accessory" in b]
    assert [b["value"] for b in buttons] == ["src0", "src1"]
    assert all(b["action_id"] == "reindex_source" and "confirm" in b for b in buttons)
    shown = texts(admin["blocks"])
    assert "<!date^1714555800^{date_short_pretty} {time}|2024-05-01 09:30 UTC>" in shown
    assert "bad &lt;doc&gt;.pdf" in shown and "How to ask" in shown
    user = home_view(status(), is_admin=False)
    assert_view_within_limits(user)
    assert not [b for b in user["blocks"] if "accessory" in b]
    assert "bad &lt;doc&gt;.pdf" not in texts(user["blocks"])  # failures: admins only
    big = home_view(status(200), is_admin=True)
    assert_view_within_limits(big)
    assert "…and" in texts(big["blocks"])
    assert_within_limits(status_blocks(status(200)))
    assert messages.INDEX_MISSING in texts(status_blocks(status(2, documents=0)))


def test_feedback_modal_and_admin_messages() -> None:
    modal = feedback_modal("ans-42")
    assert_view_within_limits(modal)
    assert modal["callback_id"] == "feedback_modal" and modal["private_metadata"] == "ans-42"
    inputs = {b["block_id"]: b for b in modal["blocks"]}
    assert inputs["reasons"]["element"]["action_id"] == "reasons"
    assert [o["value"] for o in inputs["reasons"]["element"]["options"]] == [
        "wrong", "outdated", "missing_source", "unclear", "other"]
    assert inputs["details"]["element"]["multiline"] is True
    assert all(b["optional"] for b in modal["blocks"])
    assert_within_limits(help_blocks())
    assert "/policy reindex" in texts(help_blocks())
    assert_within_limits(progress_blocks("handbook", 3, 10))
    done = sync_result_blocks({"added": 1, "updated": 2, "unchanged": 3, "deleted": 4,
                               "failed": 0, "seconds": 1.25}, ok=True)
    assert_within_limits(done)
    assert "1 added · 2 updated · 3 unchanged · 4 deleted · 0 failed" in texts(done)
    failed = sync_result_blocks({"source": "wiki", "error": "Traceback secret"}, ok=False)
    assert "Traceback" not in texts(failed) and "failed" in texts(failed)


def test_mrkdwn_formatting() -> None:
    assert escape("<a> & b") == "&lt;a&gt; &amp; b"
    assert link("https://x.example/a|b>c?q=1&r=2", "T<1>") == \
        "<https://x.example/a%7Cb%3Ec?q=1&amp;r=2|T&lt;1&gt;>"
    assert link("javascript:alert(1)", "Doc & co") == "Doc &amp; co"
    assert truncate("one two three four", 12) == "one two…"
    assert len(truncate("x" * 50, 10)) == 10
    assert truncate("see <https://a.example|the doc> now", 20) == "see…"
    assert quote("a <b>\nc") == "> a &lt;b&gt;\n> c"
    long = " ".join(f"Sentence {i} <https://e.example/{i}|[{i}]>." for i in range(400))
    parts = split(long, 3000)
    assert all(0 < len(p) <= 3000 for p in parts) and " ".join(parts) == long
    assert all(p.endswith(">.") for p in parts)


def test_messages_escape_what_they_quote() -> None:
    assert messages.rate_limited(0.2).endswith("in 1 second.")
    assert "in 13 seconds" in messages.rate_limited(12.1)
    assert messages.shared_by("U12<!here>") == "Shared by <@U12here>"
    stale = messages.stale_answer("wiki", "Travel <draft> & more", "2024-05-01T09:30:00+00:00")
    assert_escaped(stale)
    assert "Travel &lt;draft&gt; &amp; more" in stale and "Ask again" in stale
    assert "`hr`, `wiki`" in messages.unknown_source("<x>", ["hr", "wiki"])
    assert_escaped(messages.unknown_source("<x>", ["hr", "wiki"]))
    assert "nothing" in messages.refreshed(["wiki"], [])
    assert "Travel" in messages.refreshed(["wiki"], ["Travel"])
    assert "/policy reindex" in messages.INDEX_MISSING


def test_labels_drop_a_heading_path_that_repeats_the_title() -> None:
    """A real document whose first heading is its title: its heading paths (as stored with
    each passage) open with the title, which read "Annual leave — Annual leave › Accrual".
    Sources, cite, evidence and related lines show the title once."""
    raw = RawDocument("people/annual-leave.md", "v1",
                      (SAMPLE / "people" / "annual-leave.md").read_bytes(), "markdown")
    doc = parse_document(raw)
    opening, first = doc.sections[0], doc.sections[1]
    assert opening.path == doc.title and first.path.startswith(f"{doc.title} › ")
    citations = [cite(1, title=doc.title, section=opening.path),
                 cite(2, title=doc.title, section=first.path)]
    heading = first.headings[-1]
    answer = grounded([AnswerSentence("Leave is 25 days.", [1, 2])], citations)
    shown = {
        "sources": texts(answer_blocks(answer, answer_id="a1")),
        "cite": texts(cite_blocks(answer)),
        "evidence": texts(answer_blocks(Answer(question="q", text="", outcome="evidence",
                                               evidence=citations), answer_id="a2")),
        "related": texts(answer_blocks(Answer(question="q", text="", abstained=True,
                                              related=citations), answer_id="a3")),
    }
    for where, text in shown.items():
        assert f"{doc.title} — {doc.title}" not in text, where
        assert f"|{doc.title} — {heading}>" in text, where
        assert f"|{doc.title}>" in text, where  # the opening text: the title alone


def test_only_a_leading_heading_equal_to_the_title_is_dropped() -> None:
    """Case and spacing are ignored, as the parsers compare headings; a path that opens
    with another heading, or a heading that only contains the title, is kept whole."""
    assert title_link(cite(1, title="Annual leave", section="annual  LEAVE › Accrual",
                           url="")) == "Annual leave — Accrual"
    assert title_link(cite(1, title="Leave", section="Leave types › Leave",
                           url="")) == "Leave — Leave types › Leave"
    assert title_link(cite(1, title="", path="", source="", section="Leave › Sick",
                           url="")) == "Untitled document — Leave › Sick"
