"""Training examples from curated answers and 👍 feedback, re-checked against the index now.

An adapter learns voice and citation discipline, never facts: every example pairs the
question with the passages retrieved *today* and an answer whose ``[n]`` markers point at
those passages. A 👍 answer from last month cites passages by the numbers it was shown
then, and the documents may have changed since; so each cited quote must still appear in
a passage of the same document retrieved now, markers are renumbered to the new passage
numbers, and an answer whose sources moved on is dropped (and counted), never patched.

Pure logic: retrieval and the prompt builder are passed in, so nothing here touches the
index, the database or a model.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from model.citations import markers
from model.passages import NumberedPassage
from model.prompts import build_messages
from model.training.recheck import retarget

Retrieve = Callable[[str], list[NumberedPassage]]
MessagesFor = Callable[[str, Sequence[NumberedPassage]], list[dict[str, str]]]

DROP_REASONS = {
    "downvoted": "someone marked this question 👎",
    "duplicate": "the same question is already an example",
    "abstained": "a 👍 on \"not covered\" cannot be re-checked against today's index",
    "no_citations": "the answer cites nothing",
    "quote_missing": "a cited quote is no longer in any passage retrieved now",
    "marker_unknown": "a [n] marker names no citation or passage",
    "trimmed": "a cited passage does not fit the prompt's passage budget",
}


class DatasetError(ValueError):
    """An input the builder cannot use at all (a malformed curated line)."""


@dataclass
class Candidate:
    """A question and a target answer, before it is checked against the index."""

    question: str
    answer: str
    origin: str  # curated | feedback
    citations: list[dict[str, Any]] | None = None  # None: markers are passage numbers now
    votes: int = 0
    abstained: bool = False  # the bot said the policies don't cover it


@dataclass
class DatasetBuild:
    """Train and validation examples, and the report of what was kept and dropped."""

    train: list[dict[str, Any]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


def normalise_question(question: str) -> str:
    """Case, punctuation and spacing folded away: "How do I…?" and "how do i…" are one."""
    return " ".join(re.sub(r"[^\w]+", " ", question.casefold()).split())


def in_validation(question: str, fraction: float, seed: int = 0) -> bool:
    """Validation or training, from a hash of the normalised question alone.

    Not a shuffle: re-running, or adding examples later, never moves a question across the
    split, so validation losses stay comparable between adapters."""
    digest = hashlib.sha256(f"{seed}\0{normalise_question(question)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def curated_candidates(rows: Iterable[dict[str, Any]]) -> list[Candidate]:
    """``{"question", "answer"[, "citations": [{"doc_id", "quote"[, "n"]}]]}`` objects."""
    out = []
    for number, row in enumerate(rows, start=1):
        question, answer = row.get("question"), row.get("answer")
        if not isinstance(question, str) or not question.strip() \
                or not isinstance(answer, str) or not answer.strip():
            raise DatasetError(f"curated line {number}: needs non-empty \"question\" and "
                               "\"answer\" strings")
        cites = row.get("citations")
        if cites is not None:
            if not isinstance(cites, list) or not all(
                    isinstance(c, dict) and isinstance(c.get("quote"), str) for c in cites):
                raise DatasetError(f"curated line {number}: \"citations\" must be a list of "
                                   "{\"doc_id\", \"quote\"} objects")
            cites = [{"n": c.get("n", i), "doc_id": c.get("doc_id", ""), "quote": c["quote"]}
                     for i, c in enumerate(cites, start=1)]
        out.append(Candidate(question.strip(), answer.strip(), "curated", cites))
    return out


def feedback_candidates(upvoted: Iterable[dict[str, Any]]) -> list[Candidate]:
    """One candidate per 👍'd answer (``BotHistory.feedback_records("up")`` rows), the
    most-voted first; several people liking one answer is one example, not several."""
    answers: dict[str, dict[str, Any]] = {}
    votes: Counter[str] = Counter()
    for rec in upvoted:
        key = str(rec.get("answer_id") or rec.get("id"))
        answers.setdefault(key, rec)
        votes[key] += 1
    out = [Candidate(str(r["question"]), str(r["answer"]), "feedback",
                     list(r.get("citations") or []), votes[k], bool(r.get("abstained")))
           for k, r in answers.items()]
    out.sort(key=lambda c: -c.votes)  # stable: ties keep feedback order
    return out


def _fits(messages: list[dict[str, str]], passages: Sequence[NumberedPassage],
          cited: set[int]) -> bool:
    """Whether every cited passage survived the prompt's passage budget."""
    prompt = messages[-1]["content"]
    return all(f"[{p.n}] {p.title} — {p.section}\n" in prompt for p in passages if p.n in cited)


def build_dataset(curated: Sequence[Candidate], upvoted: Iterable[dict[str, Any]],
                  downvoted: Iterable[dict[str, Any]], retrieve: Retrieve, *,
                  val_fraction: float = 0.1, seed: int = 0,
                  messages_for: MessagesFor | None = None) -> DatasetBuild:
    """Chat examples ``{"messages": [system, user, assistant]}`` split train/validation.

    Curated answers come first, then 👍 answers, most-voted first; the first usable answer
    of a question wins. A question anyone marked 👎 never becomes a target from feedback
    (a curated answer, written on purpose, still may)."""
    if not 0 <= val_fraction < 1:
        raise DatasetError("val_fraction must be in [0, 1)")
    build_prompt = messages_for or (lambda q, ps: build_messages(q, ps))
    votes = list(upvoted)
    from_feedback = feedback_candidates(votes)
    down = {normalise_question(str(r["question"])) for r in downvoted}
    kept: set[str] = set()
    drops: list[dict[str, str]] = []
    out = DatasetBuild()
    renumbered = 0
    for cand in [*curated, *from_feedback]:
        key = normalise_question(cand.question)
        reason = "downvoted" if cand.origin == "feedback" and key in down else \
            "abstained" if cand.abstained else "duplicate" if key in kept else ""
        if not reason:
            passages = retrieve(cand.question)
            answer, reason = retarget(cand.answer, cand.citations, passages)
        if not reason:
            messages = build_prompt(cand.question, passages)
            if not _fits(messages, passages, set(markers(answer))):
                reason = "trimmed"
        if reason:
            drops.append({"origin": cand.origin, "question": cand.question, "reason": reason})
            continue
        kept.add(key)
        renumbered += answer != cand.answer
        example = {"messages": [*messages, {"role": "assistant", "content": answer}]}
        split = out.validation if in_validation(cand.question, val_fraction, seed) else out.train
        split.append(example)
    out.report = _report(len(curated), len(from_feedback), len(votes), len(down), drops, out,
                         renumbered, val_fraction, seed)
    return out


def _report(curated: int, answers: int, votes: int, down: int, drops: list[dict[str, str]],
            out: DatasetBuild, renumbered: int, val_fraction: float, seed: int
            ) -> dict[str, Any]:
    reasons = Counter(d["reason"] for d in drops)
    origins = Counter(d["origin"] for d in drops)
    return {
        "examples": len(out.train) + len(out.validation), "train": len(out.train),
        "validation": len(out.validation), "val_fraction": val_fraction, "seed": seed,
        "inputs": {"curated": curated, "feedback_answers": answers, "feedback_votes": votes,
                   "downvoted_questions": down},
        "kept": {"curated": curated - origins["curated"],
                 "feedback": answers - origins["feedback"]},
        "renumbered": renumbered,
        "dropped": {r: reasons[r] for r in DROP_REASONS if reasons[r]},
        "dropped_total": len(drops),
        "drops": drops,
    }
