"""Shared fixtures: every test gets its own PolicyBot home; the real model loads once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.llm_fixtures", "tests.slack_fixtures", "tests.pg_server"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(os.environ.get("POLICYBOT_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared data set at {path} (absent in a plain clone)")
    return path


@pytest.fixture(scope="session")
def model_cache(request: pytest.FixtureRequest) -> Path:
    """Where tests keep the exported embedding model: exported on the first run (a fresh
    clone included), reused after, keyed by the weights' hash like a deployment's. Its
    ``models/`` folder is every test's ``embedding.models_dir`` (see ``_isolated_env``)."""
    return Path(request.config.cache.mkdir("policybot-models"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path) -> None:
    """No test reads the developer's own configuration or writes to ./.policybot. Each
    test's home is its own, but the exported models are shared through
    ``embedding.models_dir``, as a container image shares them: a fresh home (a CLI run,
    a replica) then exports and quantizes nothing."""
    for key in list(os.environ):
        if key.startswith("POLICYBOT_") and key != "POLICYBOT_SHARED_DATA" \
                or key.startswith("SLACK_"):  # the Slack secrets are settings too
            monkeypatch.delenv(key)
    monkeypatch.setenv("POLICYBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLICYBOT_EMBEDDING__MODELS_DIR", str(model_cache / "models"))


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> Any:
    """The default embedding settings (the default backend), as a deployment runs them."""
    from indexer.config import EmbeddingSettings
    from indexer.embedding import Embedder

    e = Embedder(EmbeddingSettings(), model_cache)
    e.model  # noqa: B018 - load once for the whole session
    return e


@pytest.fixture
def make_index(tmp_path: Path, embedder: Any) -> Callable[..., Any]:
    """Build a PolicyIndex over ``sources`` in this test's home, sharing the loaded model."""
    from indexer.config import load_settings
    from indexer.index import PolicyIndex

    def make(sources: list[dict[str, Any]], **overrides: Any) -> Any:
        settings = load_settings(home=tmp_path / "home", sources=sources, **overrides)
        index = PolicyIndex(settings, embedder=embedder)
        return index

    return make


def sample_index(home: Path, embedder: Any, source: str) -> tuple[Any, Any]:
    """App settings and a synced index of the bundled sample handbook under ``home``."""
    from bot.settings import load_app_settings
    from indexer.index import PolicyIndex
    from indexer.sample import sample_source

    settings = load_app_settings(home=home, sources=[sample_source(source)])
    index = PolicyIndex(settings, embedder=embedder)
    assert index.sync().ok
    return settings, index


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
