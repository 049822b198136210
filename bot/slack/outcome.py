"""What the asker reads when a question could not be answered."""

from __future__ import annotations

import logging

from bot.slack import messages
from indexer.errors import IndexMissingError
from model.validation import QuestionError

log = logging.getLogger(__name__)


def failure_text(exc: Exception) -> str:
    """The reply for a question that could not be answered; internals stay in the log
    (called inside the ``except`` that caught ``exc``, so the traceback is logged).
    The error is counted by the Ask's metrics step (:func:`bot.slack.asking.count`)."""
    if isinstance(exc, QuestionError):
        return str(exc)
    if isinstance(exc, IndexMissingError):
        return messages.INDEX_MISSING
    log.exception("answering failed")
    return messages.GENERIC_ERROR
