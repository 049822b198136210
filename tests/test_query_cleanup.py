"""Slack chatter is removed from a question before search, and nothing else is."""

from __future__ import annotations

import pytest

from indexer.query import clean_query


@pytest.mark.parametrize("typed, searched", [
    ("<@U0123ABC> how many days of PTO do i get?", "how many days of PTO do i get?"),
    ("<@U0123ABC|policybot> <!here> expenses deadline?", "expenses deadline?"),
    ("hey team! quick q :tada: how many days of PTO do i get?? thanks!!",
     "how many days of PTO do i get?"),
    ("Hi all, good morning - is the office open on monday?!?", "is the office open on monday?!?"),
    ("switched to biking 🚲 how do i stop my transit subsidy", "switched to biking how do i "
     "stop my transit subsidy"),
    ("<@U1|bob> pls who do i ping about a stolen laptop?? 👩🏽‍💻 thx",
     "who do i ping about a stolen laptop?"),
    ("getting married in june :ring::skin-tone-2: can i add my wife to my plan?? ty",
     "getting married in june can i add my wife to my plan?"),
    ("see <https://intranet.example/travel|the travel page> and <#C0123|it-help> plz",
     "see the travel page and it-help"),
    ("hello? anyone? <https://intranet.example/x> per diem for london",
     "anyone? per diem for london"),
])
def test_chatter_is_removed(typed: str, searched: str) -> None:
    assert clean_query(typed) == searched


@pytest.mark.parametrize("question", [
    "what type of laptop do we use",  # "ty" inside a word
    "is 10:30 ok for the standup: time 10:30:00",  # colons that are not emoji
    "who is the Thanksgiving holiday contact",  # "thanks" inside a word
    "how do I displease nobody with my expense report",
    "¿Cuántos días de vacaciones tengo?",  # another language passes through
])
def test_policy_words_are_kept(question: str) -> None:
    assert clean_query(question) == question


@pytest.mark.parametrize("message", ["thanks!", "🎉🎉", "<@U0123ABC>", "hey", ":wave: hi"])
def test_a_message_that_is_all_chatter_is_searched_as_typed(message: str) -> None:
    assert clean_query(message) == message.strip()
