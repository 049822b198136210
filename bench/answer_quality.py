"""Answer quality on slack-dev's test split (odd ids), extractive generator, defaults.

Reports, per corpus and overall, the measures of docs/benchmarks.md's "Answer outcomes"
section: answerable questions answered citing a gold document, turned away, answered or
given evidence with a gold document; not-covered questions answered confidently (near
misses apart); quotes verbatim; answered with the gold sentence (``policybot eval``'s
``answered_gold_sentence``: citing a gold document and holding the record's
``gold_quote``); the answers' median length; ``ask`` latency. Follow-ups are asked after
the question they follow, with PolicyBot's own answer to it as the thread's history. The
sourcegraph-handbook corpus was never tuned on (``fit_answerability.py``), so its row
is the held-out check.

    PYTHONPATH=. .venv/bin/python bench/answer_quality.py [--split dev]

``--split dev`` scores the even ids instead: what a tuning decision is read from (its
sourcegraph rows are still the held-out corpus); only the test split is reported.
"""

from __future__ import annotations

import argparse
from typing import Any

import slack_dev
from common import latency_ms, load_now, setup_logging, table, write_results

COLUMNS = ["answered_gold", "turned_away", "answered_or_evidence_gold",
           "not_covered_answered", "quote_integrity"]
DEMO = "How many days of annual leave do I get?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--split", choices=("test", "dev"), default="test",
                        help="which slack-dev split to score (default: test, the reported one)")
    split = parser.parse_args().split
    setup_logging()
    from bot.answering import build_answerer
    from bot.evaluation import collect
    from model.answerer import Asker
    from model.evaluation import by_kind, score

    settings, index = slack_dev.index()
    items = slack_dev.questions()
    answerer = build_answerer(settings, index)
    answerer.answer("warm up the model and the index", Asker(sources=("sample-handbook",)))
    test = slack_dev.test_ids(items)
    scored = test if split == "test" else {i["id"] for i in items} - test
    load = load_now()
    details: list[dict[str, Any]] = []
    rows = collect(answerer, settings, index, items, baseline=False, scored=scored,
                   details=details)
    texts = {d["id"]: d["answer"] for d in details}
    groups: dict[str, list[Any]] = {"all": rows}
    for corpus in sorted({i["corpus"] for i in items}):
        groups[corpus] = [r for r in rows if r[0]["corpus"] == corpus]
    results: dict[str, Any] = {"split": split, "load_before": load, "load_after": load_now()}
    lines = []
    for name, group in groups.items():
        outcomes = [o for _, o, _ in group]
        s = score(outcomes)
        near = [o for item, o, _ in group if item.get("near_miss_path")]
        s["near_miss_answered"] = (round(sum(o.outcome == "answered" for o in near)
                                         / len(near), 4) if near else None)
        words = sorted(len(texts.get(item["id"], "").split()) for item, o, _ in group
                       if o.outcome == "answered")
        s["answer_words_p50"] = words[len(words) // 2] if words else None
        lat = latency_ms([o.latency_ms / 1000 for o in outcomes])
        s["ask_p50_ms"], s["ask_p95_ms"] = lat["median_ms"], lat["p95_ms"]
        results[name] = s
        lines.append([name, len(group), *[s[c] for c in COLUMNS], s["answered_gold_sentence"],
                      s["answer_words_p50"], s["near_miss_answered"],
                      s["answered"], s["evidence"], s["not_covered"],
                      s["ask_p50_ms"], s["ask_p95_ms"]])
    results["by_kind"] = by_kind([o for _, o, _ in rows])
    demo = answerer.answer(DEMO, Asker(sources=("sample-handbook",)))
    results["demo"] = {"outcome": demo.outcome, "text": demo.text}
    results["per_question"] = [{"id": item["id"], "outcome": o.outcome, "cited": o.cited,
                                "evidence": o.evidence, "gold": o.gold}
                               for item, o, _ in rows]
    path = write_results("answer_quality", results)
    print(table([f"{split} split", "n", "answered, gold cited", "turned away",
                 "answered or evidence, gold", "not-covered answered", "quotes verbatim",
                 "answered with the gold sentence", "answer words p50", "near-miss answered",
                 "answered", "evidence", "not covered", "p50 ms", "p95 ms"], lines))
    print()
    print(table(["kind", "n", "answered", "evidence", "not covered", "answered, gold cited",
                 "answered or evidence, gold", "not-covered answered"],
                [[k, v["questions"], v["answered"], v["evidence"], v["not_covered"],
                  v["answered_gold"], v["answered_or_evidence_gold"],
                  v["not_covered_answered"]] for k, v in results["by_kind"].items()]))
    print(f"\nload average {results['load_before']} → {results['load_after']}")
    print(f"\n`make demo` question: {demo.outcome}\n{demo.text}")
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
