"""Citation discipline: what a generator writes is checked before anyone sees it."""

from __future__ import annotations

from typing import Any

import pytest

from model.citations import resolve, split_marked
from model.passages import NumberedPassage
from model.support import SupportChecker, cited_passages

P = [
    NumberedPassage(1, "hb:leave.md", "Annual leave", "Annual leave › Allowance",
                    "Everyone gets 25 days of annual leave. Part-timers get a pro-rata share.",
                    url="https://x/leave.md#allowance", source="hb", path="leave.md"),
    NumberedPassage(2, "hb:expenses.md", "Expenses", "Expenses › Deadlines",
                    "Submit claims within 30 days. Late claims are rejected after 60 days.",
                    url="https://x/expenses.md#deadlines", source="hb", path="expenses.md"),
    NumberedPassage(3, "hb:leave.md", "Annual leave", "Annual leave › Carry-over",
                    "You can carry over 5 days. Use them by 31 March.",
                    url="https://x/leave.md#carry-over", source="hb", path="leave.md"),
]


def test_markers_attach_to_their_sentence() -> None:
    assert split_marked("You get 25 days [1]. Claims within 30 days.[2][3] Done") == [
        ("You get 25 days.", [1]), ("Claims within 30 days.", [2, 3]), ("Done", [])]
    assert split_marked("Both apply [1, 3].") == [("Both apply.", [1, 3])]


def test_unknown_numbers_dropped_renumbered_by_first_use_and_documents_merged() -> None:
    r = resolve("Claims are due in 30 days [2]. You get 25 days [1] and carry over 5 [3]. "
                "Fines are covered [7].", P)
    assert r.dropped == [7]
    assert [c.path for c in r.citations] == ["expenses.md", "leave.md"]
    assert [c.n for c in r.citations] == [1, 2]
    assert r.text == ("Claims are due in 30 days [1]. You get 25 days and carry over 5 [2]. "
                      "Fines are covered.")
    assert [s.citations for s in r.sentences] == [[1], [2], []]


def test_quotes_are_verbatim_and_match_the_claim() -> None:
    r = resolve("You can carry over 5 days into next year [3].", P)
    (c,) = r.citations
    assert c.quote == "You can carry over 5 days."
    assert any(c.quote in p.text for p in P if p.doc_id == c.doc_id)
    assert c.url == "https://x/leave.md#carry-over"  # the passage actually cited


def test_no_valid_citation_is_not_grounded() -> None:
    r = resolve("You get unlimited leave [9].", P)
    assert r.citations == [] and r.dropped == [9]


@pytest.fixture(scope="module")
def checker(embedder: Any) -> SupportChecker:
    return SupportChecker(lambda texts: embedder.embed(texts, progress=False))


def test_invented_claims_are_flagged_paraphrase_is_not(checker: SupportChecker) -> None:
    r = resolve("Each employee is entitled to 25 days of paid annual leave [1]. "
                "The company pays for your gym membership and car lease [2].", P)
    checker.check(r.sentences, cited_passages({c.doc_id: c.n for c in r.citations}, P))
    supported, invented = r.sentences
    assert supported.supported and not invented.supported
    assert supported.support > invented.support
