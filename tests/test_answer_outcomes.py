"""The three outcomes (answered / evidence / not covered), the extractive answer a person
would write, bad input, and evaluation by outcome and kind — over the real sample
handbook, the real embedding model and LanceDB."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.answering import build_answerer
from indexer.sample import SAMPLE_DIR
from model.answer import ANSWERED, EVIDENCE, NOT_COVERED, Answer, Citation
from model.answerer import AnswerPolicy
from model.citations import MARKER
from model.prompts import NO_ANSWER
from model.validation import QuestionError, UnclearQuestion
from tests.blocks_check import assert_within_limits, texts
from tests.conftest import sample_index

DEMO = "How many days of annual leave do I get?"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> tuple[Any, Any]:
    return sample_index(tmp_path_factory.mktemp("outcomes"), embedder, "sample-handbook")


@pytest.fixture(scope="module")
def answerer(setup: tuple[Any, Any]) -> Any:
    return build_answerer(*setup)


@pytest.fixture(scope="module")
def indexed(setup: tuple[Any, Any]) -> dict[str, str]:
    """Each document's indexed text (what quotes must be verbatim spans of), by path."""
    rows = setup[1].store.table.to_arrow().select(["path", "ordinal", "text"]).to_pylist()
    out: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        out.setdefault(r["path"], []).append((r["ordinal"], r["text"]))
    return {p: " ".join(" ".join(t for _, t in sorted(parts)).split())
            for p, parts in out.items()}


def _verbatim(c: Citation, indexed: dict[str, str]) -> bool:
    return bool(c.quote.strip()) and " ".join(c.quote.split()) in indexed[c.path]


def _sentences(a: Answer) -> list[str]:
    return [" ".join(MARKER.sub("", s.text).split()).lower() for s in a.sentences]


# --- the extractive answer -------------------------------------------------------------

def test_demo_question_gives_every_employing_entity_row_as_a_list(answerer: Any) -> None:
    a = answerer.answer(DEMO)
    assert a.outcome == ANSWERED and not a.abstained
    assert [c.path for c in a.citations] == ["people/annual-leave.md"]
    rows = [line for line in a.text.splitlines() if line.startswith("- ")]
    assert len(rows) == 3, a.text
    for entity, days in (("Portugal", "25 working days"), ("Canada Inc.", "20 working days"),
                         ("Employer of record", "25 working days")):
        assert any(entity in r and days in r for r in rows), a.text
    assert "Standard allowance" in rows[0]  # the header travels with each row


def test_table_question_naming_a_row_gets_only_that_row(answerer: Any) -> None:
    a = answerer.answer("how many days of annual leave do I get in Canada?")
    rows = [line for line in a.text.splitlines() if line.startswith("- ")]
    assert a.outcome in (ANSWERED, EVIDENCE)
    if a.outcome == ANSWERED:
        assert len(rows) == 1 and "Canada" in rows[0]


@pytest.mark.parametrize("question", [
    "can i work a 4 day week?", DEMO, "whats the deadline to submit expenses?",
    "what do I do if my laptop is stolen"])
def test_answer_never_says_a_sentence_twice_and_quotes_verbatim(
        answerer: Any, indexed: dict[str, str], question: str) -> None:
    a = answerer.answer(question)
    said = _sentences(a)
    assert len(said) == len(set(said)), a.text
    for c in a.citations + a.evidence:
        assert _verbatim(c, indexed), c.quote
    lines = a.text.splitlines() if a.outcome == ANSWERED else []
    for line in lines:  # the answer's own text is the documents' words too
        for piece in re.split(r"\s*\[\d+\]\s*", line.removeprefix("- ")):
            assert " ".join(piece.rstrip(".").split()) in " ".join(indexed.values()), piece


@pytest.mark.parametrize("question, path", [
    ("whats the deadline to submit expenses?", "finance/expenses.md"),
    ("what do I do if my laptop is stolen", "it-security/security-and-passwords.md"),
    (DEMO, "people/annual-leave.md"),
])
def test_one_question_is_answered_from_one_place(answerer: Any, question: str,
                                                 path: str) -> None:
    a = answerer.answer(question)
    assert a.outcome == ANSWERED
    assert [c.path for c in a.citations] == [path]
    assert 1 <= len([s for s in a.sentences if s.citations]) <= 3 or \
        sum(line.startswith("- ") for line in a.text.splitlines()) >= 2


def test_second_question_in_one_message_gets_its_own_passage(answerer: Any) -> None:
    a = answerer.answer("whats the deadline to submit expenses? and what do I do if my "
                        "laptop is stolen?")
    assert a.outcome in (ANSWERED, EVIDENCE)
    shown = a.citations if a.outcome == ANSWERED else a.evidence
    paths = {c.path for c in shown}
    assert {"finance/expenses.md", "it-security/security-and-passwords.md"} <= paths


def test_two_questions_that_stand_alone_are_each_answered_from_their_own_page(
        answerer: Any) -> None:
    """Searched as one message, "how many days of leave…? and who approves expenses?"
    found only expense pages, and the answer became evidence about expenses: the leave
    question was lost. Each question that says what it asks about is searched too."""
    a = answerer.answer("how many days of leave do i get? and who approves expenses?")
    assert a.outcome == ANSWERED
    assert {"people/annual-leave.md", "finance/expenses.md"} <= {c.path for c in a.citations}
    said = " ".join(_sentences(a))
    assert "25 working days" in said and "approves in ledgerly" in said


@pytest.mark.parametrize(("message", "parts"), [
    ("how many days of leave do i get? and who approves expenses?",
     ["how many days of leave do i get?", "who approves expenses?"]),
    ("how many days do I get? can I carry them over?", []),  # "them" leans on the first
    ("how much does life insurance pay out? like is it 1x or 2x salary?", []),
    ("how many days of leave do i get?", []),
])
def test_only_questions_that_say_what_they_ask_about_are_searched_alone(
        message: str, parts: list[str]) -> None:
    from model.text import standalone_questions

    assert standalone_questions(message) == parts


# --- outcomes --------------------------------------------------------------------------

def test_json_carries_the_outcome_and_evidence(answerer: Any) -> None:
    answered = answerer.answer(DEMO).public_dict()
    assert answered["outcome"] == "answered" and answered["abstained"] is False
    assert answered["evidence"] == []
    one_word = answerer.answer("parking").public_dict()
    assert one_word["outcome"] == "evidence" and one_word["abstained"] is True
    assert one_word["citations"] == [] and one_word["evidence"]
    assert all(e["quote"] and e["url"] for e in one_word["evidence"])


def test_evidence_is_quoted_verbatim_with_links_never_as_an_answer(
        answerer: Any, indexed: dict[str, str]) -> None:
    a = answerer.answer("parking")
    assert a.outcome == EVIDENCE and a.abstained and not a.grounded and not a.citations
    assert "closest the handbook comes" in a.text and not MARKER.search(a.text)
    assert 1 <= len(a.evidence) <= 3
    assert len({c.doc_id for c in a.evidence}) == len(a.evidence)
    for c in a.evidence:
        assert c.url and _verbatim(c, indexed), c.quote
    assert any("park" in c.quote.lower() for c in a.evidence)


def test_gate_turns_away_only_when_nothing_is_plausibly_relevant(answerer: Any) -> None:
    a = answerer.answer("zebra saxophone quantum entanglement tournament brackets")
    assert a.outcome == NOT_COVERED and a.abstained and a.text == NO_ANSWER
    assert not a.evidence and not a.citations


def test_extractive_decision_turns_a_weak_draft_into_evidence(setup: tuple[Any, Any]
                                                              ) -> None:
    """With the decision's threshold at 1.0 no draft is confident enough: the same
    question that is answered by default is shown as evidence, quoting its passage."""
    from dataclasses import replace

    from model.answerability import load_params

    strict = build_answerer(*setup)
    strict.policy = AnswerPolicy(params=replace(load_params(), answer_threshold=1.0))
    a = strict.answer("whats the deadline to submit expenses?")
    assert a.outcome == EVIDENCE and not a.citations
    assert a.evidence[0].path == "finance/expenses.md" and "30 days" in a.evidence[0].quote


def test_llm_generators_decide_coverage_themselves(setup: tuple[Any, Any]) -> None:
    """The extractive decision never vetoes an LLM: a threshold no draft passes leaves the
    LLM's cited answer answered, and its "not covered" is the not-covered outcome."""
    from dataclasses import replace

    from model.answerability import load_params
    from tests.test_answerer import Scripted

    llm = build_answerer(*setup)
    llm.policy = AnswerPolicy(params=replace(load_params(), answer_threshold=1.0))
    llm.generator = Scripted("Claims are due within 30 days of the purchase [1].")
    a = llm.answer("whats the deadline to submit expenses?")
    assert a.outcome == ANSWERED and a.generator == "scripted"
    llm.generator = Scripted(NO_ANSWER)
    b = llm.answer("whats the deadline to submit expenses?")
    assert b.outcome == NOT_COVERED and b.related


def test_stored_answers_without_an_outcome_derive_it() -> None:
    assert Answer(question="q", text=NO_ANSWER, abstained=True).outcome == NOT_COVERED
    assert Answer(question="q", text="x [1].", grounded=True).outcome == ANSWERED
    with pytest.raises(ValueError):
        Answer(question="q", text="", outcome="maybe")


# --- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("message", ["🎉🙏", ":tada: :pray:", "<@U0123ABCD>",
                                     "<@U0123ABCD> hi!", "???"])
def test_nothing_to_ask_gets_i_cant_tell_with_an_example(answerer: Any, message: str) -> None:
    with pytest.raises(UnclearQuestion, match="I can't tell what you're asking — try"):
        answerer.answer(message)


@pytest.mark.parametrize("word", ["parking", "VPN", "pets"])
def test_one_word_is_never_answered_confidently(answerer: Any, word: str) -> None:
    a = answerer.answer(word)
    assert a.outcome in (EVIDENCE, NOT_COVERED) and not a.citations
    assert any("only a word or two" in n for n in a.notes)


@pytest.mark.parametrize("question", ["¿Cuántos días de vacaciones tengo al año?",
                                      "Combien de jours de congé est-ce que j'ai?",
                                      "Сколько дней отпуска у меня?"])
def test_other_languages_get_evidence_or_not_covered_with_a_note(answerer: Any,
                                                                  question: str) -> None:
    a = answerer.answer(question)
    assert a.outcome in (EVIDENCE, NOT_COVERED) and not a.citations
    assert any("English" in n for n in a.notes)


def test_five_thousand_characters_with_a_question_answers_the_question(answerer: Any
                                                                       ) -> None:
    chatter = "So this week has been a lot, with the move and everything going on. " * 75
    message = chatter + "Anyway, whats the deadline to submit expenses? thanks"
    assert len(message) >= 5000
    a = answerer.answer(message)
    assert a.outcome == ANSWERED and "finance/expenses.md" in [c.path for c in a.citations]
    assert any("whats the deadline to submit expenses?" in n for n in a.notes)


def test_five_thousand_characters_without_a_question_is_turned_back(answerer: Any) -> None:
    with pytest.raises(UnclearQuestion, match="I can't tell what you're asking in a message "
                                              "of 5,"):
        answerer.answer("lorem ipsum dolor sit amet. " * 180)


def test_several_questions_with_one_not_covered_never_answers_it_from_elsewhere(
        answerer: Any) -> None:
    a = answerer.answer("can I bring my dog to the office? also whats the deadline to "
                        "submit expenses?")
    assert a.outcome in (ANSWERED, EVIDENCE)
    said = " ".join(_sentences(a))
    assert "dog" not in said and "pet" not in said


def test_empty_question_is_still_an_error(answerer: Any) -> None:
    with pytest.raises(QuestionError, match="empty"):
        answerer.answer("  ")


# --- renderers -------------------------------------------------------------------------

EVIDENCE_ANSWER = Answer(
    question="parking?", text="I couldn't find a direct answer.", abstained=True,
    outcome=EVIDENCE,
    evidence=[Citation(1, "Lisbon office", "https://wiki.example.com/lisbon#parking",
                       "handbook", "workplace/office-lisbon.md", "Getting there",
                       "There is no general car parking.")])


def test_slack_labels_evidence_as_the_closest_the_handbook_comes() -> None:
    from bot.slack import messages
    from bot.slack.blocks import answer_blocks, answer_text

    blocks = answer_blocks(EVIDENCE_ANSWER, answer_id="a1")
    assert_within_limits(blocks)
    shown = texts(blocks)
    assert messages.EVIDENCE_LEAD in shown
    assert "&gt; There is no general car parking." in shown or \
        "> There is no general car parking." in shown
    assert "https://wiki.example.com/lisbon#parking" in shown
    assert messages.SOURCES_HEADING not in shown and messages.ABSTAIN not in shown
    assert "[1]" not in shown  # evidence backs no claim, so it carries no marker
    assert answer_text(EVIDENCE_ANSWER) == messages.EVIDENCE_TEXT


def test_cli_labels_evidence_and_shows_quotes_with_links() -> None:
    import click

    from bot.cli import render_answer

    @click.command()
    def show() -> None:
        render_answer.answer(EVIDENCE_ANSWER)

    out = CliRunner().invoke(show).output
    assert "closest the handbook comes" in out and "not an answer" in out
    assert "“There is no general car parking.”" in out
    assert "https://wiki.example.com/lisbon#parking" in out and "Sources:" not in out


def test_cli_shows_a_table_answer_one_row_per_line(answerer: Any) -> None:
    import click

    from bot.cli import render_answer

    a = answerer.answer(DEMO)

    @click.command()
    def show() -> None:
        render_answer.answer(a)

    out = CliRunner().invoke(show).output.split("Sources:")[0]
    assert len([line for line in out.splitlines() if line.startswith("- ")]) == 3


def test_cli_labels_do_not_repeat_the_title(setup: tuple[Any, Any], answerer: Any) -> None:
    """The demo's Sources line read "Annual leave — Annual leave › How much leave you get":
    the heading path stored for a passage opens with the title. Answers and `search` show
    the path without it; the stored section keeps it (it is part of the embedded text)."""
    import click

    from bot.cli import render, render_answer

    a = answerer.answer(DEMO)
    passages = setup[1].retriever().search(DEMO, k=5)
    assert any(c.section.startswith(f"{c.title} › ") for c in a.citations)  # as stored

    @click.command()
    def show() -> None:
        render_answer.answer(a)
        render.passages(DEMO, passages)

    out = CliRunner().invoke(show).output
    assert "[1] Annual leave — How much leave you get" in out
    labels = [line for line in out.splitlines() if re.match(r"\[\d+\] ", line)]
    assert len(labels) == len(a.citations) + len(passages)
    for p in [*a.citations, *passages]:
        assert f"{p.title} — {p.title}" not in out
        assert f"{p.title} — {p.section}" not in out or not p.section.startswith(p.title)


# --- evaluation ------------------------------------------------------------------------

def _slack_dev_file(tmp_path: Path) -> Path:
    records = [
        {"id": "d001", "corpus": "sample-handbook", "kind": "number",
         "question": "how much is the home office allowance in Lisbon?",
         "gold_paths": ["it-security/equipment-and-laptops.md"], "gold_quote": "",
         "answer": ""},
        {"id": "d002", "corpus": "sample-handbook", "kind": "follow-up",
         "question": "and in Toronto?", "follows": "d001",
         "gold_paths": ["it-security/equipment-and-laptops.md"], "gold_quote": "",
         "answer": ""},
        {"id": "d003", "corpus": "sample-handbook", "kind": "not-covered",
         "question": "zebra saxophone quantum entanglement tournament brackets",
         "gold_paths": [], "gold_quote": "", "answer": ""},
        {"id": "d005", "corpus": "sample-handbook", "kind": "number", "question": DEMO,
         "gold_paths": ["people/annual-leave.md"],
         "gold_quote": "Fernhill Analytics Canada Inc.; Standard allowance: 20 working days",
         "answer": ""},
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_eval_feeds_follow_ups_their_thread_and_splits_by_kind_and_outcome(
        setup: tuple[Any, Any], tmp_path: Path) -> None:
    from bot.evaluation import run_evaluation

    settings, index = setup
    items = [json.loads(line) for line in _slack_dev_file(tmp_path).read_text().splitlines()]
    report = run_evaluation(settings, index, items, baseline=False)
    ours = report["systems"]["policybot"]
    kinds = report["by_kind"]
    assert set(kinds) == {"number", "follow-up", "not-covered"}
    # "and in Toronto?" alone finds nothing: the earlier question is fed as its thread
    assert kinds["follow-up"]["retrieval_recall"] == 1.0
    assert kinds["not-covered"]["not_covered_answered"] == 0.0
    for key in ("answered", "evidence", "not_covered", "answered_gold", "turned_away",
                "answered_or_evidence_gold", "not_covered_answered", "quote_integrity"):
        assert key in ours
    assert ours["quote_integrity"] == 1.0 and ours["turned_away"] == 0.0
    # only d005 names its sentence (the Canada row), and the demo answer lists every row
    assert ours["answered_gold_sentence"] == 1.0


def test_the_gold_sentence_measure_counts_only_records_that_name_one() -> None:
    """Right page, wrong sentence is not "answered with the gold sentence"; a record
    without a ``gold_quote`` is left out rather than counted either way."""
    from model.evaluation import Outcome, holds_quote, score

    def answered(holds: bool | None) -> Outcome:
        return Outcome(gold=["leave.md"], retrieved=["leave.md"], cited=["leave.md"],
                       abstained=False, outcome=ANSWERED, holds_gold_quote=holds)

    assert score([answered(True), answered(False), answered(None)])[
        "answered_gold_sentence"] == 0.5
    assert score([answered(None)])["answered_gold_sentence"] is None
    assert holds_quote("You can carry up to 5 days of unused leave.",
                       "You can carry up to 5 days of unused leave into the next year [1].")
    assert not holds_quote("You can carry up to 5 days of unused leave.",
                           "Leave is booked in Beacon [1].")


def test_eval_scores_one_split_but_still_asks_what_a_follow_up_follows(
        setup: tuple[Any, Any], tmp_path: Path) -> None:
    from bot.evaluation import id_parity, run_evaluation

    settings, index = setup
    items = [json.loads(line) for line in _slack_dev_file(tmp_path).read_text().splitlines()]
    even = {i["id"] for i in items if id_parity(i) == "even"}
    report = run_evaluation(settings, index, items, baseline=False, scored=even)
    assert report["questions"] == 1 and set(report["by_kind"]) == {"follow-up"}
    assert report["by_kind"]["follow-up"]["retrieval_recall"] == 1.0


def test_eval_cli_reports_outcomes_and_kinds(setup: tuple[Any, Any], tmp_path: Path) -> None:
    from bot.cli import main as cli

    settings, _ = setup
    config = tmp_path / "policybot.toml"
    config.write_text(f'home = "{settings.home}"\n[[sources]]\nname = "sample-handbook"\n'
                      f'type = "directory"\npath = "{SAMPLE_DIR}"\n')
    qa = _slack_dev_file(tmp_path)
    result = CliRunner().invoke(cli, ["eval", str(qa), "--config", str(config),
                                      "--no-baseline", "--ids", "odd"],
                                env={"POLICYBOT_HOME": str(settings.home)})
    assert result.exit_code == 0, result.output
    assert re.search(r"answered_or_evidence_gold\s+1\.000", result.output)
    assert re.search(r"not_covered_answered\s+0\.000", result.output)
    assert "by kind" in result.output and "not-covered" in result.output
    assert "follow-up" not in result.output  # an even id: not scored with --ids odd
