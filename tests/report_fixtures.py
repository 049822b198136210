"""A week of real answers in a real state database, for the report tests.

Each question is answered by the real Answerer over the sample handbook and stored as the
Slack app stores it (``BotHistory.record_answer``), with feedback as the 👎 modal stores
it; nothing in the database is written by hand except where a test says so (the age of an
answer, the date a citation recorded).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from bot.history import BotHistory
from bot.history_tables import answers
from indexer.state import utcnow

# Asker ids that must never appear in a report: only counts of people do.
ASKERS = ("UPRIVATEALICE", "UPRIVATEBOB", "UPRIVATECAROL", "UPRIVATEDAN")
DOG = ("can I bring my dog to the office?", "are dogs allowed in the office",
       "Can i bring my dog to work??", "can I bring my dog to the office?")
CRYPTO = "can I trade cryptocurrency at work"
LEAVE = "How many days of annual leave do I get?"
PARENTAL = "what is the parental leave policy"
OLD_GAP = "is there a sauna in the office basement"  # asked 30 days ago: outside a week
XSS = "<script>document.body.setAttribute('data-pwned','1')</script> where is the gym?"
OLD_DATE = "2023-04-01"  # the date the parental-leave document's citation records


def ask_and_record(history: BotHistory, answerer: Any, question: str, user: str,
                   channel: str = "CREPORTS") -> tuple[str, Any]:
    answer = answerer.answer(question)
    answer_id = history.record_answer(answer, user_id=user, channel_id=channel,
                                      thread_ts=None, visibility="public")
    return answer_id, answer


def fill_week(history: BotHistory, answerer: Any) -> dict[str, Any]:
    """Gaps (four dog questions from three people, one crypto question, an old one, one
    with markup in it), answered questions cited and rated, one cited document dated
    over a year back. Returns what the tests check against."""
    ids: dict[str, Any] = {"dog": [], "outcomes": {}}
    for question, user in zip(DOG, (ASKERS[0], ASKERS[1], ASKERS[2], ASKERS[0]), strict=True):
        answer_id, answer = ask_and_record(history, answerer, question, user)
        ids["dog"].append(answer_id)
        ids["outcomes"][question] = answer.outcome
    for key, question, user in (("crypto", CRYPTO, ASKERS[3]), ("xss", XSS, ASKERS[3]),
                                ("old", OLD_GAP, ASKERS[1]), ("leave1", LEAVE, ASKERS[1]),
                                ("leave2", LEAVE, ASKERS[2]), ("parental", PARENTAL, ASKERS[3])):
        ids[key], answer = ask_and_record(history, answerer, question, user)
        ids["outcomes"][question] = answer.outcome
    with history.engine.begin() as conn:
        conn.execute(update(answers).where(answers.c.id == ids["old"])
                     .values(created_at=utcnow() - timedelta(days=30)))
    parental = history.answer(ids["parental"])
    assert parental is not None and parental.citations, "the parental question is answered"
    dated = [{**c, "doc_date": OLD_DATE} for c in parental.citations]
    with history.engine.begin() as conn:
        conn.execute(update(answers).where(answers.c.id == ids["parental"])
                     .values(citations=dated))
    history.record_feedback(ids["leave1"], ASKERS[2], "down", ["outdated"],
                            "the allowance changed in 2026")
    history.record_feedback(ids["leave2"], ASKERS[3], "down", ["outdated", "wrong"])
    history.record_feedback(ids["dog"][0], ASKERS[1], "down", ["missing_source"])
    history.record_feedback(ids["parental"], ASKERS[0], "up")
    return ids
