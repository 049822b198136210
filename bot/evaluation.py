"""Runs PolicyBot (and a single-top-BM25-passage baseline) over a QA set.

Two record formats are read: ``{id, question, gold_paths, answer[, audience]}`` and the
slack-dev format, which adds ``corpus`` (answer from that source only, when a source of
that name is configured), ``kind`` (results are split by it) and ``follows`` (a follow-up:
the earlier question and PolicyBot's own answer to it are given as the thread's history,
as in Slack, and the follow-up is what is scored).
"""

from __future__ import annotations

import time
from typing import Any

from bot.answering import build_answerer, model_label
from bot.ask import Ask, AskResult, Question
from model.answer import ANSWERED, EVIDENCE, Answer
from model.answerer import Asker
from model.evaluation import UNCLEAR, Outcome, by_kind, holds_quote, score
from model.passages import NumberedPassage, Turn
from model.validation import UnclearQuestion


def doc_keys(source: str, path: str) -> set[str]:
    """Gold paths may be written relative to the source or as ``source/path``."""
    return {path, f"{source}/{path}"}


def _match(gold: list[str], source: str, path: str) -> str:
    keys = doc_keys(source, path)
    return next((g for g in gold if g in keys), f"{source}/{path}")


def _asker(item: dict[str, Any], source_names: set[str]) -> Asker:
    corpus = item.get("corpus")
    return Asker(audiences=tuple(item.get("audience") or ()),
                 sources=(corpus,) if corpus and corpus in source_names else None)


def _verbatim(quote: str, texts: list[str]) -> bool:
    flat = " ".join(quote.split())
    return any(flat in " ".join(t.split()) for t in texts)


def score_answer(answer: Answer, gold: list[str], seen: list[NumberedPassage],
                 latency_ms: float, kind: str = "", gold_quote: str = "") -> Outcome:
    """One answer as an :class:`Outcome`: what it cited, quoted and turned away."""
    texts: dict[str, list[str]] = {}
    for p in seen:
        texts.setdefault(p.doc_id, []).append(p.window)
    answered = not answer.abstained and answer.grounded
    quoted = answer.citations + answer.evidence
    holds = holds_quote(gold_quote, answer.text) if gold and gold_quote.strip() else None
    return Outcome(
        gold=gold, retrieved=[_match(gold, p.source, p.path) for p in seen],
        cited=[_match(gold, c.source, c.path) for c in answer.citations] if answered else [],
        abstained=not answered,
        quotes_verbatim=[_verbatim(c.quote, texts.get(c.doc_id, [])) for c in quoted],
        sentences_supported=[s.supported for s in answer.sentences if s.citations],
        latency_ms=latency_ms, outcome=answer.outcome,
        evidence=[_match(gold, c.source, c.path) for c in answer.evidence], kind=kind,
        fell_back=answer.fell_back, holds_gold_quote=holds)


def id_parity(item: dict[str, Any]) -> str:
    """"even" or "odd" by the number in the record's id (d002 → even); "" without one."""
    digits = "".join(ch for ch in str(item.get("id", "")) if ch.isdigit())
    return ("even" if int(digits) % 2 == 0 else "odd") if digits else ""


def run_evaluation(settings: Any, index: Any, items: list[dict[str, Any]],
                   baseline: bool = True, scored: set[str] | None = None,
                   details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Answer and score ``items`` (only the ids in ``scored``, when given: a question that
    a scored follow-up follows is still asked, to give it its thread, but not scored).
    ``details``, when given, receives one :func:`detail` per scored question."""
    answerer = build_answerer(settings, index)
    rows = collect(answerer, settings, index, items, baseline, scored, details)
    ours = [o for _, o, _ in rows]
    systems = {"policybot": score(ours)}
    if baseline:
        systems["top_bm25"] = score([b for _, _, b in rows if b is not None])
    answerable = sum(1 for item, _, _ in rows if item.get("gold_paths"))
    report: dict[str, Any] = {"questions": len(rows), "answerable": answerable,
                              "unanswerable": len(rows) - answerable,
                              "generator": answerer.generator.name, "systems": systems,
                              # how often the LLM's answer was unusable and the extractive
                              # one was given instead (the answer metrics hide it)
                              "fallback_rate": (round(sum(o.fell_back for o in ours)
                                                      / len(ours), 4) if ours else None),
                              # what the extractive decision's score is compared with
                              "answer_threshold": answerer.policy.fitted().answer_threshold}
    kinds = by_kind(ours)
    if kinds:
        report["by_kind"] = kinds
    return report


def collect(answerer: Any, settings: Any, index: Any, items: list[dict[str, Any]],
            baseline: bool = True, scored: set[str] | None = None,
            details: list[dict[str, Any]] | None = None
            ) -> list[tuple[dict[str, Any], Outcome, Outcome | None]]:
    """(record, PolicyBot's outcome, the baseline's outcome) for each scored record.

    Each question goes through :class:`bot.ask.Ask` like a Slack question (with no claim,
    rate limit or record: the asker is the record's), and is scored on the passages and
    generator the result reports."""
    ask = Ask(answerer=lambda: answerer, model=model_label(settings.generator))
    names = {s.name for s in settings.sources}
    wanted = {str(i.get("id")) for i in items} if scored is None else scored
    needed = {str(i.get("follows")) for i in items
              if i.get("follows") and str(i.get("id")) in wanted}
    given: dict[str, Turn] = {}  # id → the question and PolicyBot's answer, for follow-ups
    rows: list[tuple[dict[str, Any], Outcome, Outcome | None]] = []
    retriever = index.retriever()
    for item in items:
        key = str(item.get("id"))
        if key not in wanted:
            if key in needed:
                _remember(ask, item, names, given)
            continue
        gold = list(item.get("gold_paths") or [])
        asker = _asker(item, names)
        earlier = given.get(str(item.get("follows") or ""))
        result = _ask(ask, item, asker, (earlier,) if earlier else ())
        latency = result.seconds * 1000
        if result.answer is None:
            ours = Outcome(gold=gold, retrieved=[], cited=[], abstained=True,
                           outcome=UNCLEAR, kind=item.get("kind", ""), latency_ms=latency)
        else:
            given[key] = Turn(item["question"], result.answer.text)
            ours = score_answer(result.answer, gold, result.passages, latency,
                                item.get("kind", ""), str(item.get("gold_quote") or ""))
        base = _baseline(retriever, item["question"], gold, asker) if baseline else None
        rows.append((item, ours, base))
        if details is not None:
            details.append(detail(item, ours, result.answer))
    return rows


def detail(item: dict[str, Any], scored: Outcome, answer: Answer | None) -> dict[str, Any]:
    """One question as the eval report shows it (and ``--details`` writes it): what was
    asked, what came back, what it cited or quoted, how long it took and the extractive
    decision's score (None when it was not made)."""
    gold = list(scored.gold)
    quoted: list[dict[str, Any]] = []
    if answer is not None:
        for role, group in (("citation", answer.citations if scored.outcome == ANSWERED
                             else []), ("evidence", answer.evidence)):
            quoted += [{"role": role, "n": c.n, "doc": _match(gold, c.source, c.path),
                        "title": c.title, "section": c.section, "url": c.url,
                        "quote": c.quote} for c in group]
    hit = (scored.outcome == ANSWERED and any(c in gold for c in scored.cited)) or (
        scored.outcome == EVIDENCE and any(e in gold for e in scored.evidence))
    return {"id": str(item.get("id")), "question": str(item.get("question", "")),
            "kind": str(item.get("kind") or ""), "corpus": str(item.get("corpus") or ""),
            "follows": item.get("follows"), "gold": gold, "outcome": scored.outcome,
            "gold_hit": hit, "cited": list(scored.cited), "evidence": list(scored.evidence),
            "quotes": quoted, "answer": answer.text if answer is not None else "",
            "expected": str(item.get("answer") or ""),
            "latency_ms": round(scored.latency_ms, 1),
            "answerability": (None if answer is None or answer.answerability is None
                              else round(answer.answerability, 4)),
            "generator": answer.generator if answer is not None else ""}


def _ask(ask: Ask, item: dict[str, Any], asker: Asker, turns: tuple[Turn, ...]
         ) -> AskResult:
    """The result; one with no answer for an unclear question; other errors raise."""
    result = ask(Question(item["question"], "eval", asker=asker, turns=turns))
    if result.error is not None and not isinstance(result.error, UnclearQuestion):
        raise result.error
    return result


def _remember(ask: Ask, item: dict[str, Any], names: set[str],
              given: dict[str, Turn]) -> None:
    """Ask an unscored question only for the thread a scored follow-up needs."""
    result = _ask(ask, item, _asker(item, names), ())
    if result.answer is not None:
        given[str(item.get("id"))] = Turn(item["question"], result.answer.text)


def _baseline(retriever: Any, question: str, gold: list[str], asker: Asker) -> Outcome:
    """The simplest thing that could work: quote the single best BM25 passage."""
    started = time.perf_counter()
    hits = retriever.search(question, k=1, audiences=list(asker.audiences) or None,
                            sources=None if asker.sources is None else list(asker.sources),
                            mode="bm25")
    latency = (time.perf_counter() - started) * 1000
    keys = [_match(gold, p.source, p.path) for p in hits]
    return Outcome(gold=gold, retrieved=keys, cited=keys, abstained=not hits,
                   quotes_verbatim=[True] * len(hits), sentences_supported=[True] * len(hits),
                   latency_ms=latency)
