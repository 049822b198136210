"""Questions as users type them: empty, huge, only emoji or a mention, one word, not
English, full of control characters.

Bad input must never end in a confident answer from an unrelated passage. A message with
nothing to ask (emoji, a mention, "hi") gets a clear "I can't tell what you're asking —
try …"; one with too little to go on (a single word, another language) is marked
``answerable = False``, which caps it at evidence; a very long message is answered by the
questions in it, or turned back when it holds none.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from model.text import terms

MAX_QUESTION_CHARS = 2000
MAX_EXTRACTED_CHARS = 600  # the questions kept from a long message
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")
# Slack markup with no question in it: <@U123>, <!here>, <#C123|name>, :emoji_code:
_SLACK_MARKUP = re.compile(r"<[@!#][^>]*>|:[a-z0-9_+'-]+:")
_CHATTER = frozenset("""
    hi hello hey heya yo hiya thanks thank thx ty ok okay cool lol sup help pls plz
    question questions hmm um uh policybot bot morning afternoon evening everyone team
    folks all anyone someone quick
""".split())  # noqa: SIM905 - a word list reads best as text
EXAMPLE = "\"How many days of annual leave do I get?\""


class QuestionError(ValueError):
    """A question PolicyBot cannot work with; the message tells the user what to do."""


class UnclearQuestion(QuestionError):
    """Nothing in the message says what is being asked."""


class Cleaned(NamedTuple):
    text: str  # the question to answer
    notes: list[str]  # shown to the user beside the answer
    answerable: bool = True  # False: too little to go on, never answer confidently


def clean_question(question: str) -> Cleaned:
    """The question to answer, notes for the user and whether it may be answered
    confidently; or QuestionError / UnclearQuestion with what to do instead."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", question or ""))
    text = " ".join(text.split())
    notes: list[str] = []
    if not text:
        raise QuestionError(f"The question is empty: ask something like {EXAMPLE}")
    if len(text) > MAX_QUESTION_CHARS:
        asked = _questions_in(text)
        if not asked:
            raise UnclearQuestion(
                f"I can't tell what you're asking in a message of {len(text):,} characters "
                f"— try the question itself in a sentence or two, like {EXAMPLE}")
        notes.append(f"Your message was long ({len(text):,} characters), so I answered the "
                     f"question in it: \u201c{asked}\u201d")
        text = asked
    words = re.findall(r"[^\W_]+", _SLACK_MARKUP.sub(" ", text).lower())
    if not [w for w in words if w not in _CHATTER]:
        raise UnclearQuestion("I can't tell what you're asking — try a question about a "
                              f"policy in a sentence, like {EXAMPLE}")
    answerable = True
    if _looks_foreign(text):
        notes.append("The policy documents are in English; asking in English gives the "
                     "best answers.")
        answerable = False
    elif len(terms(" ".join(w for w in words if w not in _CHATTER))) < 2:
        notes.append("That's only a word or two, so here is what the handbook says about "
                     f"it; ask a full question (like {EXAMPLE}) for a direct answer.")
        answerable = False
    return Cleaned(text, notes, answerable)


def _questions_in(text: str) -> str:
    """The last sentences that end in a question mark, within MAX_EXTRACTED_CHARS."""
    found = [m.group(0).strip() for m in re.finditer(r"[^.!?\n]*\?", text)
             if len(terms(m.group(0))) >= 2]
    kept: list[str] = []
    for q in reversed(found):
        if sum(len(k) + 1 for k in kept) + len(q) > MAX_EXTRACTED_CHARS:
            break
        kept.insert(0, q)
    return " ".join(kept)


_ENGLISH = frozenset("""
    a an the is are do does can i my me we our what how when where who which why to of
    for in on at and or if any have has get
""".split())  # noqa: SIM905 - a word list reads best as text
_OTHER = frozenset("""
    el la los las que para por una uno del con es se de le les des est une pour avec qui
    und der die das ist ein eine nicht mit für não os um uma com quantos cuántos cuantos
    combien wie
""".split())  # noqa: SIM905 - a word list reads best as text


def _looks_foreign(text: str) -> bool:
    """More common function words of other languages than of English, or mostly
    non-Latin letters: the English-only embedding model will struggle."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) < 0.5:
        return True
    words = re.findall(r"[^\W\d_]+", text.lower())
    return sum(w in _OTHER for w in words) > sum(w in _ENGLISH for w in words)
