"""``policybot status`` reads what the last sync recorded, never LanceDB, and never shows a
wrong number: real syncs (real embedding model, real LanceDB) on SQLite and PostgreSQL,
the real CLI in a fresh process, and an index synced before counts were recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli.render import status as render_status
from indexer.status import index_status
from tests.conftest import write
from tests.pg_server import create_database

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("lancedb", "lance", "torch", "onnxruntime", "transformers", "pyarrow")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "sqlite":
        return None  # the default: HOME/state.db
    return create_database(request.getfixturevalue("postgres_url"))


def _docs(root: Path) -> None:
    write(root / "hr", "leave.md", "# Leave\n\n## Annual leave\n\nEveryone gets 25 days of "
          "annual leave a year.\n\n## Sick leave\n\nTell your manager before 10:00.\n")
    write(root / "hr", "travel.md", "# Travel\n\nBook trains over flights under 500 km.\n")
    write(root / "it", "laptops.md", "---\naudience: [engineering]\n---\n# Laptops\n\n"
          "Laptops are replaced every three years.\n")


def _sources(root: Path) -> list[dict[str, Any]]:
    return [{"name": "hr", "type": "directory", "path": str(root / "hr")},
            {"name": "it", "type": "directory", "path": str(root / "it")}]


def _what_lancedb_holds(index: Any) -> dict[str, Any]:
    """Counted in the LanceDB table directly, apart from the code that records counts."""
    store = index.store
    store.refresh()
    rows = store.table.search().select(["source", "doc_id"]).limit(None).to_list()
    counts = {s: (len({r["doc_id"] for r in rows if r["source"] == s}),
                  sum(r["source"] == s for r in rows)) for s in {r["source"] for r in rows}}
    return {"counts": counts, "spaces": store.spaces(),
            "undated": store.table.count_rows("doc_date IS NULL")}


def _what_status_shows(info: dict[str, Any]) -> dict[str, Any]:
    configured = {s["name"]: (s["documents"], s["chunks"]) for s in info["sources"]}
    return {"counts": {n: c for n, c in configured.items() if c != (0, 0)},
            "spaces": info["embedding"]["index_spaces"], "undated": info["undated_rows"]}


def test_status_after_each_sync_shows_what_lancedb_holds_without_reading_it(
        tmp_path: Path, make_index: Any, database_url: str | None) -> None:
    root = tmp_path / "docs"
    _docs(root)
    overrides = {"database_url": database_url} if database_url else {}
    index = make_index(_sources(root), **overrides)
    assert index.sync().ok
    info = index_status(index)
    assert info["counts_from"] == "recorded"
    assert _what_status_shows(info) == _what_lancedb_holds(index)
    assert _what_status_shows(info)["counts"]["hr"][0] == 2
    space = index.embedder.space
    assert {s["name"]: s["spaces"] for s in info["sources"]} == {
        n: {space: chunks} for n, (_, chunks) in _what_lancedb_holds(index)["counts"].items()}

    # documents added, changed and removed: the next sync records the new counts
    (root / "hr" / "travel.md").unlink()
    write(root / "hr", "expenses.md", "# Expenses\n\nClaim within 30 days.\n\n## Meals\n\n"
          "Up to 40 euros a day.\n")
    write(root / "it", "phones.md", "# Phones\n\nA phone is provided to on-call staff.\n")
    assert index.sync().ok
    info = index_status(index)
    assert info["counts_from"] == "recorded"
    assert _what_status_shows(info) == _what_lancedb_holds(index)
    assert {s["name"]: s["documents"] for s in info["sources"]} == {"hr": 2, "it": 2}

    # a source dropped from the configuration is pruned, and the counts follow
    alone = make_index(_sources(root)[:1], **overrides)
    assert alone.sync().ok
    info = index_status(alone)
    assert (info["counts_from"], info["unconfigured_sources_in_index"]) == ("recorded", [])
    assert _what_status_shows(info) == _what_lancedb_holds(alone)


def test_a_write_outside_a_sync_is_counted_in_the_index_not_shown_from_the_record(
        tmp_path: Path, make_index: Any) -> None:
    root = tmp_path / "docs"
    _docs(root)
    index = make_index(_sources(root))
    assert index.sync().ok
    assert index_status(index)["counts_from"] == "recorded"
    index.store.delete_documents(["hr:travel.md"])  # not a sync: nothing re-recorded
    info = index_status(make_index(_sources(root)))
    assert info["counts_from"] == "index"
    assert _what_status_shows(info) == _what_lancedb_holds(index)
    assert {s["name"]: s["documents"] for s in info["sources"]} == {"hr": 1, "it": 1}


def test_a_sync_that_fails_halfway_leaves_no_counts_to_trust(
        tmp_path: Path, make_index: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "docs"
    _docs(root)
    index = make_index(_sources(root))
    assert index.sync().ok
    write(root / "hr", "expenses.md", "# Expenses\n\nClaim within 30 days.\n")
    from indexer.store import ChunkStore

    def broken(*_: Any) -> None:  # the process dies after the rows are written
        raise RuntimeError("killed")

    monkeypatch.setattr(ChunkStore, "maintain", broken)
    with pytest.raises(RuntimeError):
        index.sync()
    monkeypatch.undo()
    info = index_status(index)
    assert info["counts_from"] == "index"
    assert _what_status_shows(info) == _what_lancedb_holds(index)
    assert {s["name"]: s["documents"] for s in info["sources"]}["hr"] == 3


def _status_in_a_fresh_process(home: Path, config: Path) -> tuple[str, list[str]]:
    """``policybot status`` as typed, and the heavy modules its process imported."""
    code = ("import sys\nfrom bot.cli import main\n"
            "try:\n    main(['--config', sys.argv[1], 'status'])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYBOT_")}
    done = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True,
                          text=True, timeout=300, cwd=home.parent,
                          env={**env, "PYTHONPATH": str(ROOT), "POLICYBOT_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    out, heavy = done.stdout.rsplit("HEAVY ", 1)
    return out, eval(heavy)  # noqa: S307 - a list of names this test printed


def _config(root: Path) -> Path:
    config = root / "policybot.toml"
    config.write_text("".join(f'[[sources]]\nname = "{s["name"]}"\ntype = "directory"\n'
                              f'path = "{s["path"]}"\n\n' for s in _sources(root / "docs")))
    return config


def test_policybot_status_never_imports_lancedb_and_shows_the_synced_counts(
        tmp_path: Path, make_index: Any) -> None:
    _docs(tmp_path / "docs")
    index = make_index(_sources(tmp_path / "docs"))
    assert index.sync().ok
    held = _what_lancedb_holds(index)["counts"]
    out, heavy = _status_in_a_fresh_process(tmp_path / "home", _config(tmp_path))
    assert heavy == []
    for name, (docs, chunks) in held.items():
        assert f"{name} (directory): {docs} documents, {chunks} chunks" in out
    assert "counted in the index" not in out


def test_an_index_synced_before_counts_were_recorded_is_counted_in_lancedb_and_says_so(
        tmp_path: Path, make_index: Any) -> None:
    """The state database as the previous release left it (revision 0004, no counts): status
    counts in LanceDB, right, and says the next sync records them; after that sync it
    reads them from the state database."""
    from alembic import command

    from indexer.db import alembic_config, current_revision

    _docs(tmp_path / "docs")
    index = make_index(_sources(tmp_path / "docs"))
    assert index.sync().ok
    held = _what_lancedb_holds(index)["counts"]
    url = index.settings.db_url
    command.downgrade(alembic_config(url), "0004_sync_empty")
    assert current_revision(url) == "0004_sync_empty"
    config = _config(tmp_path)

    out, heavy = _status_in_a_fresh_process(tmp_path / "home", config)
    assert "lancedb" in heavy  # counted where the numbers are
    for name, (docs, chunks) in held.items():
        assert f"{name} (directory): {docs} documents, {chunks} chunks" in out
    assert "the next `policybot sync` records them" in out
    assert current_revision(url) == "0005_index_counts"

    assert make_index(_sources(tmp_path / "docs")).sync().ok
    out, heavy = _status_in_a_fresh_process(tmp_path / "home", config)
    assert heavy == []
    for name, (docs, chunks) in held.items():
        assert f"{name} (directory): {docs} documents, {chunks} chunks" in out
    assert "counted in the index" not in out


def test_status_before_the_first_sync_shows_nothing_indexed_without_lancedb(
        tmp_path: Path) -> None:
    _docs(tmp_path / "docs")
    out, heavy = _status_in_a_fresh_process(tmp_path / "home", _config(tmp_path))
    assert heavy == []
    assert "hr (directory): 0 documents, 0 chunks" in out and "last sync: never" in out
    assert "counted in the index" not in out


def test_the_note_is_rendered_only_for_counts_read_from_the_index() -> None:
    info = {"index": "x", "embedding_model": "m", "sources": [], "undated_rows": 0,
            "unconfigured_sources_in_index": [], "counts_from": "index"}
    assert "the next `policybot sync` records them" in render_status(info)
    assert "records them" not in render_status({**info, "counts_from": "recorded"})
