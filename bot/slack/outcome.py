"""What every answering path does after an answer or a failure: metrics and messages."""

from __future__ import annotations

import logging

from bot.slack import messages
from bot.slack.services import Services
from indexer.errors import IndexMissingError
from model.answer import EVIDENCE, Answer
from model.validation import QuestionError

log = logging.getLogger(__name__)


def record_outcome(svc: Services, answer: Answer, seconds: float) -> None:
    m = svc.metrics
    if answer.outcome == EVIDENCE:
        outcome = "evidence"
        m.abstentions.inc()
    elif answer.abstained:
        outcome = "abstained"
        m.abstentions.inc()
    elif not answer.grounded:
        outcome = "ungrounded"
    elif answer.notes and answer.generator == "extractive" and svc.settings.generator.backend \
            != "extractive":
        outcome = "fallback"
    else:
        outcome = "grounded"
    m.answers.labels(outcome).inc()
    m.answer_seconds.labels(answer.generator or "none").observe(seconds)


def failure_text(svc: Services, exc: Exception) -> str:
    """The reply for a question that could not be answered; internals stay in the log."""
    if isinstance(exc, QuestionError):
        return str(exc)
    if isinstance(exc, IndexMissingError):
        return messages.INDEX_MISSING
    svc.metrics.errors.inc()
    log.exception("answering failed")
    return messages.GENERIC_ERROR
