"""The Answerer: question + asker → retrieve → gate → generate → cite → Answer.

Slack-free, so the CLI, the Slack app and the evaluation all get the same answers.
Retrieval is passed in as a function, which keeps ``model`` free of any index code.

Answerability is judged by the component that can judge it (``model/answerability.py``):
the gate here stops only when retrieval found nothing plausibly relevant (outcome
``not_covered``); an LLM reads the passages and says when they don't answer; the
extractive generator's draft is answered only when its fitted decision says so, and is
otherwise shown as ``evidence`` — the closest passages, quoted and linked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from model.answer import ANSWERED, EVIDENCE, NOT_COVERED, Answer, Citation
from model.answerability import Params, features, gate_score, load_params, probability
from model.citations import cite, quote_and_passage, related, resolve
from model.followup import retrieval_query
from model.generators.base import (
    Generator,
    GeneratorDeadline,
    GeneratorError,
    GeneratorUnavailable,
)
from model.generators.extractive import ExtractiveGenerator
from model.passages import NumberedPassage, Turn
from model.prompts import EVIDENCE_TEXT, NO_ANSWER, says_not_covered
from model.screen import CheckedStream, screen
from model.support import SupportChecker, cited_passages
from model.text import standalone_questions
from model.validation import clean_question

log = logging.getLogger(__name__)
MAX_PARTS = 3  # questions of one message searched on their own, at most
PER_PART = 2  # passages each of them puts first


@dataclass(frozen=True)
class Asker:
    """Who asks: decides which documents may be used (audiences) and where (sources)."""

    audiences: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None


Retrieve = Callable[[str, Asker], list[NumberedPassage]]


@dataclass
class AnswerPolicy:
    """When to stop and how much to show. The fitted numbers come from
    ``model/answerability.json`` (``bench/fit_answerability.py``, dev split only);
    ``min_confidence`` / ``coverage_weight`` override the gate when set."""

    min_confidence: float | None = None  # gate: below this nothing plausibly relevant
    coverage_weight: float | None = None
    extract_from: int = 3  # passages the extractive answer reads
    related_limit: int = 3
    evidence_limit: int = 3  # documents quoted as evidence
    params: Params | None = None

    def fitted(self) -> Params:
        return self.params or load_params()

    def gate(self) -> tuple[float, float]:
        """(threshold, coverage weight) of the pre-generation gate."""
        p = self.fitted()
        return (p.gate if self.min_confidence is None else self.min_confidence,
                p.coverage_weight if self.coverage_weight is None else self.coverage_weight)


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
        cleaned = clean_question(question)
        question, notes = cleaned.text, cleaned.notes
        query = retrieval_query(question, history)  # self-contained, for follow-ups
        passages = self.passages_for(question, query, asker)
        retrieved = time.perf_counter()
        result = Answer(question=question, text="", notes=notes, passages=passages)
        threshold, weight = self.policy.gate()
        if gate_score(query, passages, weight) < threshold:
            self._not_covered(result, passages)
        else:
            self._generate(result, query, passages, history, on_text)
            if result.outcome == ANSWERED and not cleaned.answerable:
                # too little to go on (one word, another language): quote, don't assert
                self._evidence(result, query, passages)
        done = time.perf_counter()
        result.timings_ms = {"retrieve": (retrieved - started) * 1000,
                             "generate": (done - retrieved) * 1000,
                             "total": (done - started) * 1000}
        return result

    def passages_for(self, question: str, query: str, asker: Asker) -> list[NumberedPassage]:
        """The passages an answer reads: those retrieved for ``query``, except that a
        message asking several questions that each stand alone ("how many days of leave do
        I get? and who approves expenses?") puts each question's two best passages first.
        Searched as one, the message found only one of its subjects, and the answer could
        not read a place for the other. As many passages as one search gives."""
        passages = self.retrieve(query, asker)
        parts = standalone_questions(question)[:MAX_PARTS]
        if not parts:
            return passages
        found = [self.retrieve(part, asker) for part in parts]
        ordered = [group[i] for i in range(PER_PART) for group in found if len(group) > i]
        picked: list[NumberedPassage] = []
        seen: set[str] = set()
        for p in [*ordered, *passages]:
            key = p.chunk_id or f"{p.doc_id}\n{p.text}"
            if key not in seen and len(picked) < max(len(passages), len(ordered)):
                seen.add(key)
                picked.append(p)
        return [replace(p, n=i) for i, p in enumerate(picked, start=1)]

    def _top(self, passages: list[NumberedPassage]) -> list[NumberedPassage]:
        """The extractive answer reads the best few passages: the rest rarely hold the
        answer, and each sentence read costs an embedding."""
        return passages[: self.policy.extract_from]

    def _not_covered(self, result: Answer, passages: Sequence[NumberedPassage]) -> None:
        result.set_outcome(NOT_COVERED)
        result.text, result.citations, result.sentences = NO_ANSWER, [], []
        result.grounded = False
        result.related = related(passages, self.policy.related_limit)

    def _evidence(self, result: Answer, query: str, passages: Sequence[NumberedPassage],
                  lead: tuple[str, str] = ("", "")) -> None:
        """The closest passages, each quoted verbatim with its link; never an answer.

        ``lead`` (document id, the drafted answer's best sentence) comes first, quoted
        from its own sentence; the other documents by the question's words."""
        result.set_outcome(EVIDENCE)
        result.text, result.citations, result.sentences = EVIDENCE_TEXT, [], []
        result.grounded = False
        by_doc: dict[str, list[NumberedPassage]] = {lead[0]: []} if lead[0] else {}
        for p in passages:
            by_doc.setdefault(p.doc_id, []).append(p)
        quoted: list[Citation] = []
        for doc, group in by_doc.items():
            if len(quoted) == self.policy.evidence_limit:
                break
            quote, source = quote_and_passage(
                group, [lead[1]] if doc == lead[0] and lead[1] else [query])
            if not group or not quote or source is None:
                continue
            quoted.append(cite(len(quoted) + 1, source, quote))
        result.evidence = quoted
        if not quoted:
            self._not_covered(result, passages)

    def _extractive(self, result: Answer, question: str,
                    passages: list[NumberedPassage]) -> None:
        """The extractive draft, answered only when its fitted decision says so."""
        top = self._top(passages)
        draft = self.extractive.draft(question, top)
        resolved = resolve(draft.text, passages)
        params = self.policy.fitted()
        chance = probability(features(question, draft, top), params)
        result.generator = self.extractive.name
        result.answerability = chance
        log.debug("extractive answerability %.3f (threshold %.3f)", chance,
                  params.answer_threshold)
        if not resolved.citations or chance < params.answer_threshold:
            best = draft.ranked[0] if draft.ranked else None
            doc = next((p.doc_id for p in top if best and p.n == best.n), "")
            self._evidence(result, question, passages, lead=(doc, best.text if best else ""))
            return
        result.set_outcome(ANSWERED)
        result.text, result.sentences = resolved.text, resolved.sentences
        result.citations, result.grounded = resolved.citations, True

    def _generate(self, result: Answer, question: str, passages: list[NumberedPassage],
                  history: Sequence[Turn], on_text: Callable[[str], None] | None) -> None:
        generator = self.generator
        if not generator.uses_llm:
            self._extractive(result, question, passages)
            return
        relay = on_text
        if on_text is not None:
            relay = CheckedStream(passages, self.support, on_text)
        pieces = generator.generate(question, passages, history)
        try:
            raw = "".join(_tee(pieces, relay))
        except (GeneratorUnavailable, GeneratorError) as exc:
            log.warning("%s generator failed, answering extractively: %s", generator.name, exc)
            result.notes.append(TOO_SLOW if isinstance(exc, GeneratorDeadline) else UNAVAILABLE)
            result.fell_back = True
            self._extractive(result, question, passages)
            return
        finally:
            # Closed now, not when the traceback holding it is freed: when ``on_text``
            # raises (the asker pressed stop), the HTTP stream to the LLM server must end
            # at once rather than keep generating for no one.
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        resolved = resolve(raw, passages)
        if not resolved.citations:
            if says_not_covered(raw):
                self._not_covered(result, passages)
                result.generator = generator.name
                return
            log.info("LLM answer had no valid citation; using the extractive answer")
            result.notes.append("The model's answer could not be tied to the sources, so this "
                                "answer quotes the policies directly.")
            result.fell_back = True
            self._extractive(result, question, passages)
            return
        if resolved.dropped:
            log.info("dropped citations to passages never given: %s", resolved.dropped)
        result.generator = generator.name
        result.text, result.sentences = resolved.text, resolved.sentences
        result.citations = resolved.citations
        result.grounded = True
        result.set_outcome(ANSWERED)
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
