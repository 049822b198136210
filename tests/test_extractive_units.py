"""Which sentence an extractive answer quotes, on a handbook written the way real ones
are: FAQs that ask their own questions.
Real embedding model, real LanceDB, the app's answerer."""

from __future__ import annotations

from typing import Any

import pytest

from bot.answering import build_answerer
from bot.settings import load_app_settings
from indexer.index import PolicyIndex
from model.answer import ANSWERED
from model.answerer import Asker
from model.citations import MARKER
from tests.conftest import write

TRAVEL_FAQ = """# Travel FAQ

## Reimbursement

Your voucher is reviewed in 3-5 business days after you submit it. Reimbursements are
paid to your bank account and travel card 3-5 business days after approval. Have issues
with a reimbursement or an outstanding travel card balance? Contact
travel-finance@agency.example and describe the issue you are having.

## Booking

Book every trip in the travel system at least 14 days ahead. What if the contract fare
is sold out? Choose the next cheapest refundable fare and note why in the booking.
"""



@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Any:
    root = tmp_path_factory.mktemp("units")
    write(root / "docs", "travel-faq.md", TRAVEL_FAQ)
    settings = load_app_settings(home=root / "home", sources=[
        {"name": "handbook", "type": "directory", "path": str(root / "docs")}])
    index = PolicyIndex(settings, embedder=embedder)
    assert index.sync().ok
    return build_answerer(settings, index)


def _said(answerer: Any, question: str) -> list[str]:
    a = answerer.answer(question, Asker())
    return [" ".join(MARKER.sub("", s.text).split()) for s in a.sentences] \
        if a.outcome == ANSWERED else [e.quote for e in a.evidence]


@pytest.mark.parametrize(("question", "answer"), [
    ("the contract fare is sold out, what do i book?", "Choose the next cheapest refundable"),
    ("who do i ask about my travel card balance", "travel-finance@agency.example"),
])
def test_a_handbooks_own_question_is_quoted_with_its_answer_never_alone(
        answerer: Any, question: str, answer: str) -> None:
    """An FAQ's "What if the contract fare is sold out?" matches the employee best, but
    answers nothing: the sentence after it is the answer, and it is quoted, after the
    question it answers (before, the question alone was the whole answer)."""
    said = _said(answerer, question)
    assert answer in " ".join(said)
    for i, sentence in enumerate(said):
        if sentence.rstrip().endswith("?"):  # a question only ever leads its answer
            assert i + 1 < len(said) and not said[i + 1].rstrip().endswith("?")
