"""The slack-dev question set and one index of its three corpora, shared by the answer
benchmarks (``answer_quality.py``, ``fit_answerability.py``).

The split is fixed for the whole team: questions with an even id number (d002, d004, …)
are "dev" and may be tuned on; odd ids are "test" and are only reported. The
sourcegraph-handbook corpus is held out of tuning altogether, so thresholds are fitted on
dev questions of the 18F and sample handbooks only.

The index (one source per corpus, named as the questions' ``corpus`` field) is built once
under ``POLICYBOT_BENCH_CACHE`` (default ``/work/cache/ans-quality``) and re-synced, which
reads nothing again when the corpora are unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from common import require_data

HELD_OUT = "sourcegraph-handbook"


def cache_home() -> Path:
    return Path(os.environ.get("POLICYBOT_BENCH_CACHE", "/work/cache/ans-quality")) / "home"


def sources() -> list[dict[str, Any]]:
    from indexer.sample import sample_source

    corpora = require_data("corpora")
    return [{"name": "18f-tts-handbook", "type": "directory",
             "path": str(corpora / "18f-tts-handbook")},
            {"name": "sourcegraph-handbook", "type": "directory",
             "path": str(corpora / "sourcegraph-handbook")},
            sample_source("sample-handbook")]


def questions() -> list[dict[str, Any]]:
    path = require_data("qa", "slack-dev", "questions.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def split(item: dict[str, Any]) -> str:
    """"dev" for even id numbers, "test" for odd ones."""
    return "dev" if int(item["id"].lstrip("d")) % 2 == 0 else "test"


def tuning_set(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dev questions outside the held-out corpus: the only ones anything is fitted on."""
    return [i for i in items if split(i) == "dev" and i["corpus"] != HELD_OUT]


def index() -> tuple[Any, Any]:
    """(settings, index): the cached index of the three corpora, synced (a no-op when
    nothing changed), with the app's default answer settings."""
    from bot.settings import load_app_settings
    from indexer.index import PolicyIndex

    home = cache_home()
    home.mkdir(parents=True, exist_ok=True)
    settings = load_app_settings(home=home, sources=sources())
    idx = PolicyIndex(settings)
    idx.embedder.model  # noqa: B018 - load outside any timed region
    idx.sync()
    return settings, idx


if __name__ == "__main__":
    from common import setup_logging

    setup_logging()
    _, idx = index()
    print(idx.store.table.count_rows(), "chunks in", cache_home())
