"""The Answerer: question + asker → retrieve → abstain? → generate → cite → Answer.

Slack-free, so the CLI, the Slack app and the evaluation all get the same answers.
Retrieval is passed in as a function, which keeps ``model`` free of any index code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from model.answer import Answer
from model.citations import related, resolve
from model.followup import retrieval_query
from model.generators.base import (
    Generator,
    GeneratorDeadline,
    GeneratorError,
    GeneratorUnavailable,
)
from model.generators.extractive import ExtractiveGenerator
from model.passages import NumberedPassage, Turn
from model.prompts import NO_ANSWER, says_not_covered
from model.screen import CheckedStream, screen
from model.support import SupportChecker, cited_passages
from model.text import overlap, terms
from model.validation import clean_question

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """Who asks: decides which documents may be used (audiences) and where (sources)."""

    audiences: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None
    user_id: str = ""


Retrieve = Callable[[str, Asker], list[NumberedPassage]]


@dataclass
class AnswerPolicy:
    """When to abstain and how much to show. Tuned on the dev half of the evaluation set,
    reported on the test half (docs/benchmarks.md)."""

    min_confidence: float = 0.752  # below this the policies don't cover the question
    coverage_weight: float = 0.7
    extract_from: int = 3  # passages the extractive answer reads
    related_limit: int = 3


def confidence(query: str, passages: Sequence[NumberedPassage], weight: float = 0.7,
               top: int = 3) -> float:
    """Best cosine similarity plus ``weight`` × the best share of the question's content
    words found in one of the top passages. Cosine alone cannot tell "on topic" from
    "answers it" (a dog policy question is near the office guide); the words the question
    insists on being present in one passage can."""
    if not passages:
        return 0.0
    best = max(p.similarity or 0.0 for p in passages)
    wanted = terms(query)
    cover = max(overlap(wanted, p.window) for p in passages[:top])
    return best + weight * cover


class Answerer:
    def __init__(self, retrieve: Retrieve, generator: Generator, extractive: ExtractiveGenerator,
                 support: SupportChecker, policy: AnswerPolicy | None = None) -> None:
        self.retrieve, self.generator, self.extractive = retrieve, generator, extractive
        self.support, self.policy = support, policy or AnswerPolicy()

    def answer(self, question: str, asker: Asker = Asker(), history: Sequence[Turn] = (),
               on_text: Callable[[str], None] | None = None) -> Answer:
        """The full Answer; ``on_text`` sees the answer grow while an LLM streams, a
        finished sentence at a time and only sentences that passed the checks the final
        answer passes (see :mod:`model.screen`)."""
        started = time.perf_counter()
        question, notes = clean_question(question)
        query = retrieval_query(question, history)  # self-contained, for follow-ups
        passages = self.retrieve(query, asker)
        retrieved = time.perf_counter()
        result = Answer(question=question, text="", notes=notes)
        policy = self.policy
        if confidence(query, passages, policy.coverage_weight) < policy.min_confidence:
            result.abstained = True
            result.text = NO_ANSWER
            result.related = related(passages, self.policy.related_limit)
        else:
            self._generate(result, query, passages, history, on_text)
        done = time.perf_counter()
        result.timings_ms = {"retrieve": (retrieved - started) * 1000,
                             "generate": (done - retrieved) * 1000,
                             "total": (done - started) * 1000}
        return result

    def _top(self, passages: list[NumberedPassage]) -> list[NumberedPassage]:
        """The extractive answer reads the best few passages: the rest rarely hold the
        answer, and each sentence read costs an embedding."""
        return passages[: self.policy.extract_from]

    def _generate(self, result: Answer, question: str, passages: list[NumberedPassage],
                  history: Sequence[Turn], on_text: Callable[[str], None] | None) -> None:
        generator = self.generator
        given = passages if generator.uses_llm else self._top(passages)
        relay = on_text
        if generator.uses_llm and on_text is not None:
            relay = CheckedStream(passages, self.support, on_text)
        try:
            raw = "".join(_tee(generator.generate(question, given, history), relay))
        except (GeneratorUnavailable, GeneratorError) as exc:
            log.warning("%s generator failed, answering extractively: %s", generator.name, exc)
            result.notes.append(TOO_SLOW if isinstance(exc, GeneratorDeadline) else UNAVAILABLE)
            generator = self.extractive
            raw = "".join(generator.generate(question, self._top(passages), history))
        resolved = resolve(raw, passages)
        if generator.uses_llm and not resolved.citations:
            if says_not_covered(raw):
                result.abstained, result.text = True, NO_ANSWER
                result.related = related(passages, self.policy.related_limit)
                result.generator = generator.name
                return
            log.info("LLM answer had no valid citation; using the extractive answer")
            result.notes.append("The model's answer could not be tied to the sources, so this "
                                "answer quotes the policies directly.")
            generator = self.extractive
            resolved = resolve("".join(generator.generate(question, self._top(passages),
                                                          history)), passages)
        if resolved.dropped:
            log.info("dropped citations to passages never given: %s", resolved.dropped)
        result.generator = generator.name
        result.text, result.sentences = resolved.text, resolved.sentences
        result.citations = resolved.citations
        result.grounded = bool(resolved.citations)
        if generator.uses_llm:
            screened = screen(resolved)
            if screened.uncited or screened.links:
                log.info("LLM answer screened: %d uncited sentence(s) dropped, %d link(s) "
                         "removed", screened.uncited, screened.links)
            if screened.uncited:
                result.notes.append(UNCITED_DROPPED)
            if screened.links:
                result.notes.append(LINKS_REMOVED)
            result.sentences, result.text = screened.sentences, screened.text
            numbering = {c.doc_id: c.n for c in resolved.citations}
            self.support.check(result.sentences, cited_passages(numbering, passages))
        if not result.grounded:
            result.related = related(passages, self.policy.related_limit)


UNAVAILABLE = ("The language model is unavailable right now, so this answer quotes the "
               "policies directly.")
TOO_SLOW = ("The language model took too long to answer, so this answer quotes the "
            "policies directly.")
UNCITED_DROPPED = ("Parts of the model's answer that cited no policy were left out.")
LINKS_REMOVED = ("Links in the model's answer that were not its cited sources were removed.")


def _tee(pieces: Iterator[str], on_text: Callable[[str], None] | None) -> Iterator[str]:
    text = ""
    for piece in pieces:
        text += piece
        if on_text is not None:
            on_text(text)
        yield piece
