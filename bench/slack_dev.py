"""The slack-dev question set and one index of its three corpora, shared by the answer
benchmarks (``answer_quality.py``, ``fit_answerability.py``).

The split and the held-out corpus are the team's, from ``common`` (``slack_dev_split``,
``tuning_records``): even ids are dev, odd ids test, and sourcegraph-handbook is never
tuned on, so thresholds are fitted on dev questions of the 18F and sample handbooks only.

The index (one source per corpus, named as the questions' ``corpus`` field) is built once
under ``common.BENCH_CACHE`` and re-synced, which
reads nothing again when the corpora are unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import BENCH_CACHE, load_slack_dev, require_data, slack_dev_split, tuning_records


def cache_home() -> Path:
    return BENCH_CACHE / "slack-dev-answers"


def sources() -> list[dict[str, Any]]:
    from indexer.sample import sample_source

    corpora = require_data("corpora")
    return [{"name": "18f-tts-handbook", "type": "directory",
             "path": str(corpora / "18f-tts-handbook")},
            {"name": "sourcegraph-handbook", "type": "directory",
             "path": str(corpora / "sourcegraph-handbook")},
            sample_source("sample-handbook")]


def questions() -> list[dict[str, Any]]:
    return load_slack_dev()


def test_ids(items: list[dict[str, Any]]) -> set[str]:
    """Ids of the report split (odd id numbers)."""
    return {i["id"] for i in slack_dev_split(items)[1]}


def tuning_set(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dev questions outside the held-out corpus: the only ones anything is fitted on."""
    return tuning_records(items)


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
