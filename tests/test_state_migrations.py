"""An install made before migrations existed upgrades in place, and keeps working.

``fixtures/legacy_state_8b75856.db`` was written by the code of commit 8b75856 (tables made
by ``create_all``, no ``alembic_version``) with rows in every table; see
``fixtures/make_legacy_state_db.py``. Each test upgrades a copy.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli import main
from bot.history import BotHistory
from bot.lora.registry import AdapterRegistry
from bot.settings import AppSettings
from indexer.config import DirectorySourceConfig
from indexer.db import SchemaError, current_revision, engine_for, head_revision, upgrade
from indexer.scheduler import next_runs
from indexer.state import RunRecord, StateDB
from model.answer import Answer

LEGACY = Path(__file__).parent / "fixtures" / "legacy_state_8b75856.db"
TABLES = ("sync_runs", "sync_failures", "slack_events", "answers", "answer_docs",
          "feedback", "stale_alerts", "adapter_versions", "apscheduler_jobs")


@pytest.fixture
def legacy_url(tmp_path: Path) -> str:
    copy = tmp_path / "state.db"
    shutil.copy(LEGACY, copy)
    return f"sqlite:///{copy}"


def _columns(path: str) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in TABLES}


def _rows(path: str, columns: dict[str, list[str]] | None = None
          ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table; only ``columns`` of each when given (the ones an older
    schema had: later migrations may add columns, never change what was there)."""
    with sqlite3.connect(path) as conn:
        return {t: sorted(conn.execute(
            f"SELECT {', '.join(columns[t]) if columns else '*'} FROM {t}").fetchall(), key=repr)
                for t in TABLES}


def test_the_fixture_is_an_install_from_before_migrations() -> None:
    rows = _rows(str(LEGACY))
    assert all(rows[t] for t in TABLES), {t: len(r) for t, r in rows.items()}
    with sqlite3.connect(LEGACY) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "alembic_version" not in names


def test_upgrade_keeps_every_row_of_an_install_from_before_migrations(legacy_url: str
                                                                      ) -> None:
    path = legacy_url.removeprefix("sqlite:///")
    before, columns = _rows(path), _columns(path)
    assert current_revision(legacy_url) is None
    assert upgrade(legacy_url) == head_revision()
    engine_for(legacy_url).dispose()
    assert _rows(path, columns) == before
    assert upgrade(legacy_url) == head_revision()  # and again: nothing to do


def test_the_app_works_on_an_upgraded_install(legacy_url: str, tmp_path: Path) -> None:
    upgrade(legacy_url)
    state = StateDB(legacy_url)
    last = state.last_runs()
    assert (last["handbook"].status, last["handbook"].failed) == ("partial", 1)
    assert last["wiki"].error == "GET https://wiki.example/: 503"
    assert state.failures("handbook") == [("leave/broken.pdf", "PDF has no text layer")]

    history = BotHistory(legacy_url)
    answer = history.answer_at("C100", "1700000001.000200")
    assert answer is not None and answer.model == "policy-voice@v2"
    assert answer.citations[0]["doc_id"] == "handbook:leave.md"
    assert [c[0].id for c in history.answers_citing(["handbook:leave.md"], days=100_000)
            ] == [answer.id]
    feedback = history.feedback_records()
    assert [(f["user_id"], f["rating"], f["reasons"]) for f in feedback] == [
        ("U111", "up", []), ("U222", "down", ["outdated", "wrong_source"]),
        ("U222", "down", ["missing"])]
    history.record_feedback(answer.id, "U111", "down", ["outdated"])
    assert history.feedback_records()[0]["rating"] == "down"
    assert not history.claim_event("Ev0001")  # dedupe remembers what it saw before
    assert history.claim_event("Ev0003")
    [refused] = history.alerts.failed()
    assert (refused.doc_id, refused.change) == ("handbook:leave.md", "deleted")
    assert history.record_answer(Answer(question="Q?", text="A."), user_id="U1",
                                 channel_id="C1", thread_ts=None, visibility="dm")

    registry = AdapterRegistry(AppSettings(home=tmp_path / "home", database_url=legacy_url),
                               cache_s=0)
    assert registry.served_name("policy-voice") == "policy-voice@v3"
    assert registry.served_name("legal-tone") == "legal-tone@v2"
    assert registry.next_served_name("policy-voice") == "policy-voice@v4"

    sources = [DirectorySourceConfig(name="handbook", type="directory", path=tmp_path,
                                     schedule="6h")]
    when, stored = next_runs(legacy_url, sources)["handbook"]
    assert stored and when is not None  # APScheduler's job survived beside the migration


def test_policybot_db_upgrade_and_current(legacy_url: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", legacy_url)
    runner = CliRunner()
    result = runner.invoke(main, ["db", "current"])
    assert result.exit_code == 0 and "not versioned" in result.output
    assert "needs `policybot db upgrade`" in result.output
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"state database at {head_revision()} (was not versioned)" in result.output
    result = runner.invoke(main, ["db", "current"])
    assert result.output.startswith(f"{head_revision()} (latest {head_revision()}: up to date")


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    with engine_for(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999_future'"))
    with pytest.raises(SchemaError, match="newer release"):
        upgrade(url)
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and "upgrade PolicyBot" in result.output


def test_sync_migrates_an_old_install_and_records_beside_its_runs(legacy_url: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """``policybot sync`` on an old install: migrated first, then the sync is recorded
    beside the old runs. (A source that fails to list needs no embedding model.)"""
    config = tmp_path / "policybot.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\ndatabase_url = "{legacy_url}"\n'
                      f'[[sources]]\nname = "gone"\ntype = "directory"\n'
                      f'path = "{tmp_path / "missing"}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "sync"])
    assert current_revision(legacy_url) == head_revision(), result.output
    runs = StateDB(legacy_url).runs()
    assert [r.source for r in runs] == ["handbook", "handbook", "wiki", "gone"]


def test_sync_failures_of_an_older_install_stay_failures_and_runs_have_no_empty_pages(
        legacy_url: str) -> None:
    """0004_sync_empty: every failure recorded before it is a failure ("failed"), never an
    empty page, and old runs count 0 empty pages; new runs record both kinds apart."""
    upgrade(legacy_url)
    state = StateDB(legacy_url)
    before = state.failures("handbook")
    assert before and state.failures("handbook", "empty") == []
    assert state.last_runs()["handbook"].empty == 0
    now = datetime.now(UTC)
    state.record_run(RunRecord("handbook", "cli", now, now, "ok", empty=1),
                     [("bad.md", "front matter is not valid YAML")],
                     [("old.md", "redirect-only page (to /new/): no text to index")])
    assert state.failures("handbook") == [("bad.md", "front matter is not valid YAML")]
    assert state.failures("handbook", "empty") == [
        ("old.md", "redirect-only page (to /new/): no text to index")]
    assert state.last_runs()["handbook"].empty == 1
