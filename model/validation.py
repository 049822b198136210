"""Questions as users type them: empty, huge, full of control characters, not English."""

from __future__ import annotations

import re
import unicodedata

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")


class QuestionError(ValueError):
    """A question PolicyBot cannot work with; the message tells the user what to do."""


def clean_question(question: str) -> tuple[str, list[str]]:
    """The question to answer and notes for the user, or QuestionError."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", question or ""))
    text = " ".join(text.split())
    notes: list[str] = []
    if not text:
        raise QuestionError("The question is empty: ask something like "
                            "\"How many days of annual leave do I get?\"")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"The question is {len(text):,} characters long; please keep it "
                            f"under {MAX_QUESTION_CHARS:,} and ask about one thing at a time.")
    if _looks_foreign(text):
        notes.append("The policy documents are in English; asking in English gives the "
                     "best answers.")
    return text, notes


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
