"""Answer quality and `ask` latency: PolicyBot (extractive) vs the top-BM25-passage baseline.

Runs the evaluation of ``policybot eval`` on the *test* halves of the hand-written sets in
bench/eval/ (thresholds were tuned on the dev halves only):
- handbook_test.jsonl over the bundled sample handbook,
- corpora_test.jsonl over the two public handbooks in ../shared/data/corpora.
Both systems answer the same questions over the same index in the same run.

    .venv/bin/python bench/answers.py [--split test|dev]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from common import load_now, require_data, setup_logging, write_results

EVAL = Path(__file__).resolve().parent / "eval"


def _items(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EVAL / name).read_text().splitlines() if line.strip()]


def _evaluate(home: Path, sources: list[dict[str, Any]], items: list[dict[str, Any]]) -> Any:
    from bot.evaluation import run_evaluation
    from bot.settings import load_app_settings
    from indexer.index import PolicyIndex

    settings = load_app_settings(home=home, sources=sources)
    index = PolicyIndex(settings)
    result = index.sync()
    assert result.ok, result.summary()
    run_evaluation(settings, index, items[:3], baseline=False)  # warm model and caches
    return run_evaluation(settings, index, items)


def _table(title: str, report: dict[str, Any]) -> str:
    systems = report["systems"]
    lines = [f"### {title}: {report['questions']} questions ({report['answerable']} answerable,"
             f" {report['unanswerable']} not covered)", "",
             "| metric | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for metric in systems["policybot"]:
        cells = [systems[s][metric] for s in systems]
        lines.append(f"| {metric} | " + " | ".join("n/a" if c is None else str(c)
                                                    for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["test", "dev"], default="test")
    args = parser.parse_args()
    setup_logging()
    corpora = require_data("corpora")
    from indexer.sample import sample_source

    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        reports["handbook"] = _evaluate(Path(tmp) / "hb", [sample_source("handbook")],
                                        _items(f"handbook_{args.split}.jsonl"))
        reports["handbook"]["load"] = load_now()
        sources = [{"name": "18f", "type": "directory",
                    "path": str(corpora / "18f-tts-handbook" / "pages")},
                   {"name": "sourcegraph", "type": "directory",
                    "path": str(corpora / "sourcegraph-handbook")}]
        reports["corpora"] = _evaluate(Path(tmp) / "corpora", sources,
                                       _items(f"corpora_{args.split}.jsonl"))
        reports["corpora"]["load"] = load_now()
    path = write_results(f"answers-{args.split}", {"split": args.split, "reports": reports})
    print(_table(f"Sample handbook ({args.split})", reports["handbook"]))
    print()
    print(_table(f"Public corpora ({args.split})", reports["corpora"]))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
