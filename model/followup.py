"""Makes a follow-up question self-contained for retrieval.

"and in Toronto?" retrieves nothing useful on its own. When a thread has an earlier
question and the new one looks elliptical (short, or leaning on a pronoun), the earlier
question is prepended so the search sees both topics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from model.passages import Turn
from model.text import POINTING_BACK

_LEANING = re.compile(rf"^(and|but|what about|how about|also|or)\b|\b({'|'.join(POINTING_BACK)})\b",
                      re.IGNORECASE)


def retrieval_query(question: str, history: Sequence[Turn] = ()) -> str:
    if not history:
        return question
    if len(question.split()) <= 6 or _LEANING.search(question):
        return f"{history[-1].question} {question}"
    return question
