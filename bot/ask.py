"""One way to ask. Every surface — a Slack mention, DM or thread follow-up, ``/policy``,
Share, ``/policy cite QUESTION``, ``policybot ask``, ``policybot eval`` and the adapter
promotion gate — answers a question by calling :class:`Ask`.

Why one object: the rules (a retry is answered once, a guest is refused, a rate-limited
user is refused, every answer is stored and counted) used to live in each surface and
drifted apart. Here they run in one place and one order:

1. **claim** — a delivery seen before (Slack retries an event it thinks we were slow on)
   stops here, silently; nothing after it runs twice. On Slack the claim is a lease held
   while answering (a replica killed mid-answer lets a retry be answered elsewhere) and
   final once the body ends;
2. **who** — who is asking and what they may see: the :class:`~model.answerer.Asker`
   (audiences, sources), or a refusal (a guest, a channel allowed no source);
3. **limit** — the per-user rate limit: after the claim, so a retry never counts against
   its asker, and after *who*, so a refused guest uses nothing up;
4. **answer** — the Answerer (through the channel's LoRA adapter when one is served), or
   an answer already given, shown again (Share);
5. **record** — the answer is stored where it is shown, for feedback, cite and alerts;
6. **metrics** — the question and, once shown, its outcome and latency.

A surface with no use for a step (the CLI claims nothing and has no rate limit) is given
the no-op version of that step when its ``Ask`` is built; it never takes another path.
Where the answer is shown is the surface's :class:`Delivery`, which is all a new surface
has to write.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from bot.answering import with_adapter
from model.answer import Answer
from model.answerer import Answerer, Asker
from model.passages import NumberedPassage, Turn

# AskResult.status
ANSWERED = "answered"  # answered and shown
DUPLICATE = "duplicate"  # claimed before: a retry or a second delivery
REFUSED = "refused"  # who-step refusal: a guest, an outsider, a channel with no source
LIMITED = "limited"  # over the per-user rate limit
FAILED = "failed"  # the answer step raised (``error``)
UNDELIVERED = "undelivered"  # answered (maybe) but Slack would not take it
STOPPED = "stopped"  # the asker pressed stop: nothing recorded, nothing more shown


@dataclass(frozen=True)
class Question:
    """A question and everything about where it was asked that the steps need."""

    text: str
    surface: str  # mention | dm | thread | command | share | cite | cli | eval
    user_id: str = ""
    channel_id: str = ""
    private: bool = True  # only the asker sees the answer, so their audiences apply
    visibility: str = "ephemeral"  # as stored: public | dm | ephemeral
    thread_ts: str | None = None  # the thread it was asked in, if any
    keys: tuple[str, ...] = ()  # claimed once; empty: nothing to deduplicate
    asker: Asker = field(default_factory=Asker)  # for surfaces that state it (CLI, eval)
    turns: tuple[Turn, ...] | None = None  # the conversation so far; None: the delivery's
    reuse: Answer | None = None  # an answer already given, shown again (Share)
    reuse_model: str = ""  # the model that wrote ``reuse``
    team_id: str = ""  # the workspace it was asked in (Slack)
    user_team: str = ""  # the asker's own workspace (differs for Slack Connect users)
    message_ts: str | None = None  # the question's own message (Slack)


@dataclass
class Placement:
    """Where an answer ended up in Slack: the thread it belongs to and its message."""

    thread_ts: str | None = None
    message_ts: str | None = None


@dataclass
class AskResult:
    """What happened to one question; the answer and how it was made, when there is one."""

    question: Question
    status: str
    answer: Answer | None = None
    refusal: str = ""  # the text the asker was shown instead of an answer
    error: Exception | None = None  # for FAILED
    asker: Asker | None = None
    model: str = ""  # the model, adapter or backend asked (stored with the answer)
    adapter: str | None = None  # the LoRA adapter's served name, when one answered
    answer_id: str | None = None  # as recorded; None when nothing is stored
    seconds: float = 0.0

    @property
    def passages(self) -> list[NumberedPassage]:
        """The passages retrieval gave the answer (empty for a reused answer)."""
        return self.answer.passages if self.answer is not None else []

    @property
    def generator(self) -> str:
        """The generator that wrote the answer: ``extractive`` after a fallback."""
        return self.answer.generator if self.answer is not None else ""

    @property
    def fell_back(self) -> bool:
        """The LLM's answer was unusable and the extractive answer replaced it."""
        return self.answer is not None and self.answer.fell_back


class Delivery:
    """Where a surface shows the answer. This base shows nothing: the CLI and the
    evaluation read the :class:`AskResult` instead. Slack surfaces override what they show.
    """

    stream: Callable[[str], None] | None = None  # partial text while an LLM writes

    def refuse(self, text: str) -> None:
        """Tell the asker why there is no answer (a refusal or the rate limit)."""

    def start(self) -> Placement | None:
        """Just before answering (a placeholder); None when nothing can be shown."""
        return Placement()

    def earlier(self) -> Sequence[Turn]:
        """The conversation this question follows (a thread's earlier answers)."""
        return ()

    def fail(self, error: Exception) -> None:
        """The answer step raised; tell the asker."""

    def stopped(self) -> bool:
        """The asker asked to stop this answer (Slack's stop button)."""
        return False

    def halt(self) -> None:
        """Stopped: show nothing more of the answer and tell the asker it stopped."""

    def deliver(self, result: AskResult) -> Placement | None:
        """Show the recorded answer; None when it could not be shown, or the placement
        when it ended somewhere :meth:`start` did not know."""
        return Placement()


def _no_claim(keys: Sequence[str]) -> AbstractContextManager[None] | None:
    return contextlib.nullcontext()


def trusted(question: Question) -> Asker | str:
    """The who-step of surfaces that state the asker themselves (CLI, eval)."""
    return question.asker


def _no_limit(question: Question) -> str | None:
    return None


def _no_record(result: AskResult, placement: Placement) -> str | None:
    return None


def _no_count(result: AskResult) -> None:
    return None


@dataclass
class Ask:
    """The one answering path; see the module docstring for its steps and their order.

    ``answerer`` is called per question (Slack's is built on first use, after the first
    sync); ``adapter_for`` names the LoRA adapter served for a channel (or None);
    ``model`` is what is stored as the model when no adapter answers."""

    answerer: Callable[[], Answerer]
    model: str = ""
    adapter_for: Callable[[str], str | None] = lambda _channel: None
    claim: Callable[[Sequence[str]], AbstractContextManager[None] | None] = _no_claim
    who: Callable[[Question], Asker | str] = trusted
    limit: Callable[[Question], str | None] = _no_limit
    record: Callable[[AskResult, Placement], str | None] = _no_record
    count: Callable[[AskResult], None] = _no_count

    def __call__(self, question: Question, delivery: Delivery | None = None) -> AskResult:
        started = time.perf_counter()
        held = self.claim(question.keys)  # 1. claim: None when taken by another delivery
        if held is None:
            return AskResult(question, DUPLICATE)
        with held:  # a lease, kept while answering; final once shown (or failed)
            result = self._steps(question, delivery or Delivery())
        result.seconds = time.perf_counter() - started
        self.count(result)  # 6. metrics, for every question that got past the claim
        return result

    def _steps(self, q: Question, delivery: Delivery) -> AskResult:
        who = self.who(q)  # 2. who is asking, what they may see
        if isinstance(who, str):
            delivery.refuse(who)
            return AskResult(q, REFUSED, refusal=who)
        refusal = self.limit(q)  # 3. rate limit
        if refusal:
            delivery.refuse(refusal)
            return AskResult(q, LIMITED, refusal=refusal, asker=who)
        placement = delivery.start()
        if placement is None:
            return AskResult(q, UNDELIVERED, asker=who)
        result = AskResult(q, ANSWERED, asker=who)
        try:  # 4. answer
            self._answer(q, who, delivery, result)
        except Exception as exc:  # noqa: BLE001 - every surface reports it its own way
            if delivery.stopped():  # the stop raised out of the generator: not a failure
                return self._stopped(result, delivery)
            result.status, result.error = FAILED, exc
            delivery.fail(exc)  # inside the except: a delivery may log the traceback
            return result
        if delivery.stopped():  # stopped while an answer without a stream was prepared
            return self._stopped(result, delivery)
        result.answer_id = self.record(result, placement)  # 5. record
        if delivery.deliver(result) is None:
            result.status = UNDELIVERED
        return result

    @staticmethod
    def _stopped(result: AskResult, delivery: Delivery) -> AskResult:
        """A stopped answer is neither recorded nor shown: the asker said not to."""
        result.status = STOPPED
        delivery.halt()
        return result

    def _answer(self, q: Question, asker: Asker, delivery: Delivery,
                result: AskResult) -> None:
        if q.reuse is not None:
            result.answer, result.model = q.reuse, q.reuse_model
            return
        answerer = self.answerer()
        served = self.adapter_for(q.channel_id) if q.channel_id else None
        if served:
            answerer = with_adapter(answerer, served)
        turns = q.turns if q.turns is not None else delivery.earlier()
        result.answer = answerer.answer(q.text, asker, turns, delivery.stream)
        result.model, result.adapter = served or self.model, served
