"""Runs PolicyBot (and a single-top-BM25-passage baseline) over a QA set."""

from __future__ import annotations

import time
from typing import Any

from bot.answering import build_answerer
from model.answerer import Asker
from model.evaluation import Outcome, score
from model.passages import NumberedPassage


def doc_keys(source: str, path: str) -> set[str]:
    """Gold paths may be written relative to the source or as ``source/path``."""
    return {path, f"{source}/{path}"}


def _match(gold: list[str], source: str, path: str) -> str:
    keys = doc_keys(source, path)
    return next((g for g in gold if g in keys), f"{source}/{path}")


def run_evaluation(settings: Any, index: Any, items: list[dict[str, Any]],
                   baseline: bool = True) -> dict[str, Any]:
    answerer = build_answerer(settings, index)
    seen: list[NumberedPassage] = []
    inner = answerer.retrieve

    def recording(query: str, asker: Asker) -> list[NumberedPassage]:
        found = inner(query, asker)
        seen[:] = found
        return found

    answerer.retrieve = recording
    ours, base = [], []
    retriever = index.retriever()
    for item in items:
        gold = list(item.get("gold_paths") or [])
        asker = Asker(audiences=tuple(item.get("audience") or ()))
        started = time.perf_counter()
        answer = answerer.answer(item["question"], asker)
        latency = (time.perf_counter() - started) * 1000
        texts: dict[str, list[str]] = {}
        for p in seen:
            texts.setdefault(p.doc_id, []).append(p.window)
        answered = not answer.abstained and answer.grounded
        ours.append(Outcome(
            gold=gold, retrieved=[_match(gold, p.source, p.path) for p in seen],
            cited=[_match(gold, c.source, c.path) for c in answer.citations] if answered else [],
            abstained=not answered,
            quotes_verbatim=[any(c.quote in t for t in texts.get(c.doc_id, []))
                             for c in answer.citations],
            sentences_supported=[s.supported for s in answer.sentences if s.citations],
            latency_ms=latency))
        if baseline:
            base.append(_baseline(retriever, item["question"], gold, asker))
    systems = {"policybot": score(ours)}
    if baseline:
        systems["top_bm25"] = score(base)
    answerable = sum(1 for i in items if i.get("gold_paths"))
    return {"questions": len(items), "answerable": answerable,
            "unanswerable": len(items) - answerable,
            "generator": answerer.generator.name, "systems": systems}


def _baseline(retriever: Any, question: str, gold: list[str], asker: Asker) -> Outcome:
    """The simplest thing that could work: quote the single best BM25 passage."""
    started = time.perf_counter()
    hits = retriever.search(question, k=1, audiences=list(asker.audiences) or None,
                            mode="bm25")
    latency = (time.perf_counter() - started) * 1000
    keys = [_match(gold, p.source, p.path) for p in hits]
    return Outcome(gold=gold, retrieved=keys, cited=keys, abstained=not hits,
                   quotes_verbatim=[True] * len(hits), sentences_supported=[True] * len(hits),
                   latency_ms=latency)
