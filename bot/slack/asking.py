"""The Slack app's :class:`~bot.ask.Ask`: its claim, who, limit, record and metrics steps.

Every Slack surface asks through ``svc.ask``; what differs between them is only where the
answer is shown (the deliveries in :mod:`bot.slack.conversation` and
:mod:`bot.slack.replies`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.answering import model_label
from bot.ask import ANSWERED, FAILED, LIMITED, Ask, AskResult, Placement, Question
from bot.slack import messages
from bot.slack.dedupe import claim_question
from indexer.errors import IndexMissingError
from model.answer import EVIDENCE
from model.answerer import Asker
from model.validation import QuestionError

if TYPE_CHECKING:
    from bot.slack.metrics import Metrics
    from bot.slack.services import Services


def slack_ask(svc: Services) -> Ask:
    adapters = svc.adapters
    return Ask(answerer=svc.answerer, model=model_label(svc.settings.generator),
               adapter_for=adapters.model_for if adapters is not None else lambda _c: None,
               claim=lambda keys: claim_question(svc, keys),
               who=lambda q: who(svc, q), limit=lambda q: limit(svc, q),
               record=lambda result, placement: record(svc, result, placement),
               count=lambda result: count(svc.metrics, result))


def who(svc: Services, q: Question) -> Asker | str:
    """The asker, or why there is no answer: nothing asked, a channel allowed no source
    (settings only: checked before any Slack call), or a guest, outsider or unknown user."""
    if not q.text:
        return messages.EMPTY_QUESTION
    if svc.access.sources(q.channel_id) == ():
        return messages.CHANNEL_NOT_ALLOWED
    refusal = svc.access.refusal(q.user_id)
    if refusal:
        return refusal
    return svc.access.asker(q.user_id, q.channel_id, q.private)


def limit(svc: Services, q: Question) -> str | None:
    """Counts the question against its asker's limit; the refusal when over it."""
    wait = svc.limiter.check(q.user_id)
    return messages.rate_limited(wait) if wait else None


def record(svc: Services, result: AskResult, placement: Placement) -> str:
    """Stores the answer where it was shown: a thread, a DM, a channel or ephemeral."""
    q, asker, answer = result.question, result.asker or Asker(), result.answer
    assert answer is not None  # recorded only once answered
    thread = placement.thread_ts or q.thread_ts
    answer_id = svc.history.record_answer(
        answer, user_id=q.user_id, channel_id=q.channel_id, thread_ts=thread,
        visibility=q.visibility, model=result.model, audiences=asker.audiences,
        sources=asker.sources)
    if placement.message_ts:
        svc.history.set_message(answer_id, placement.message_ts, thread)
    return answer_id


def count(m: Metrics, result: AskResult) -> None:
    """Every question that got past the claim, by surface; refusals by rate; failures;
    and for an answer that was shown, its outcome and the time it took."""
    m.questions.labels(result.question.surface).inc()
    if result.status == LIMITED:
        m.rate_limited.inc()
    elif result.status == FAILED:
        if not isinstance(result.error, QuestionError | IndexMissingError):
            m.errors.inc()
    elif result.status == ANSWERED and result.answer is not None:
        answer = result.answer
        if answer.outcome == EVIDENCE:
            outcome = "evidence"
            m.abstentions.inc()
        elif answer.abstained:
            outcome = "abstained"
            m.abstentions.inc()
        elif not answer.grounded:
            outcome = "ungrounded"
        elif answer.fell_back:
            outcome = "fallback"
        else:
            outcome = "grounded"
        m.answers.labels(outcome).inc()
        m.answer_seconds.labels(answer.generator or "none").observe(result.seconds)
