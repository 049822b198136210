"""The state store's contract, on the embedded SQLite and on a real PostgreSQL server.

Every test runs twice (``state_url`` is a fresh SQLite file, then a fresh database on the
session's PostgreSQL): sync history, Slack event dedupe, answers, feedback, stale-alert
claims, the adapter registry, and the schema the migrations build.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from bot.cli.db_commands import all_metadata
from bot.history import BotHistory
from bot.lora.registry import AdapterRegistry
from bot.settings import AppSettings
from indexer.db import SCHEDULER_TABLES, current_revision, engine_for, head_revision, upgrade
from indexer.state import RunRecord, StateDB
from model.answer import Answer, Citation
from tests.pg_server import create_database

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return create_database(request.getfixturevalue("postgres_url"))


def _cite(doc: str = "leave.md", version: str = "v1") -> Citation:
    return Citation(n=1, title="Annual leave", url=f"https://hb.example/{doc}",
                    source="handbook", path=doc, section="Leave", quote="25 days a year.",
                    doc_version=version, doc_id=f"handbook:{doc}", doc_date="2026-11-01")


def _answer(question: str = "How much leave?", *cites: Citation) -> Answer:
    return Answer(question=question, text="25 days [1].", citations=list(cites or [_cite()]),
                  grounded=True, generator="extractive")


def test_sync_history_round_trips_with_time_zones_and_failures(state_url: str) -> None:
    state = StateDB(state_url)
    t0 = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    ok = RunRecord("hr", "cli", t0, t0 + timedelta(seconds=5), "ok", added=3,
                   chunks_embedded=12, seconds=5.25)
    partial = RunRecord("hr", "schedule", t0 + timedelta(hours=1),
                        t0 + timedelta(hours=1, seconds=2), "partial", unchanged=2, failed=1,
                        seconds=2.0)
    failed = RunRecord("it", "slack", t0, t0 + timedelta(seconds=1), "failed",
                       error="GET https://it.example/: 503")
    state.record_run(ok, [("old.pdf", "no text")])
    state.record_run(partial, [("scan.pdf", "no text layer"), ("big.docx", "too large")])
    state.record_run(failed, [])

    assert state.runs("hr") == [ok, partial]
    assert state.last_runs() == {"hr": partial, "it": failed}
    assert state.last_runs()["hr"].started_at.tzinfo is not None
    assert sorted(state.failures("hr")) == [("big.docx", "too large"),
                                            ("scan.pdf", "no text layer")]
    assert state.failures("it") == []
    assert state.failures("nowhere") == []


def test_a_slack_event_and_its_retry_are_claimed_once(state_url: str) -> None:
    history = BotHistory(state_url)
    assert history.claim_event("Ev1", "msg-1")
    assert not history.claim_event("Ev1")  # Slack's retry of the same event
    assert not history.claim_event("Ev2", "msg-1")  # same message, another event id
    assert history.claim_event("Ev3")
    assert history.forget_events(older_than=timedelta(days=3)) == 0
    assert history.forget_events(older_than=timedelta(seconds=-1)) == 3  # Ev1, msg-1, Ev3
    assert history.claim_event("Ev1")  # forgotten keys may be claimed again


def test_answers_are_found_by_thread_message_and_cited_document(state_url: str) -> None:
    history = BotHistory(state_url)
    first = history.record_answer(_answer("How much leave?"), user_id="U1",
                                  channel_id="C1", thread_ts=None, visibility="public",
                                  model="voice@v2", audiences=("staff",),
                                  sources=("handbook",))
    history.set_message(first, "100.1", None)
    time.sleep(0.01)  # created_at orders answers
    follow = history.record_answer(_answer("And for part-time?",
                                           _cite("leave.md"), _cite("part-time.md", "v7")),
                                   user_id="U2", channel_id="C1", thread_ts="100.1",
                                   visibility="public")
    history.set_message(follow, "100.2", "100.1")
    time.sleep(0.01)
    private = history.record_answer(_answer("My own question"), user_id="U3",
                                    channel_id="C1", thread_ts="100.1",
                                    visibility="ephemeral")

    stored = history.answer(first)
    assert stored is not None and stored.created_at.tzinfo is not None
    assert (stored.model, stored.audiences, stored.sources) == ("voice@v2", ["staff"],
                                                                ["handbook"])
    assert stored.citations[0]["doc_id"] == "handbook:leave.md"
    assert stored.thread_ts == "100.1" and stored.message_ts == "100.1"
    assert history.latest_answer("C1", "100.1").id == follow
    assert history.latest_answer("C1", "100.1", user_id="U3").id == private
    assert history.answer_at("C1", "100.1").id == first  # the message itself wins
    assert history.answer_at("C1", "100.2").id == follow
    assert [a.id for a in history.thread_turns("C1", "100.1")] == [first, follow]
    citing = history.answers_citing(["handbook:part-time.md", "handbook:leave.md"], days=1)
    assert sorted((a.id, doc) for a, doc in citing) == sorted(
        [(first, "handbook:leave.md"), (follow, "handbook:leave.md"),
         (follow, "handbook:part-time.md")])  # the ephemeral one was never posted
    assert history.answers_citing([], days=1) == []


def test_feedback_is_one_vote_per_user_and_the_latest_counts(state_url: str) -> None:
    history = BotHistory(state_url)
    answer_id = history.record_answer(_answer(), user_id="U1", channel_id="C1",
                                      thread_ts=None, visibility="public")
    history.record_feedback(answer_id, "U1", "up")
    history.record_feedback(answer_id, "U2", "up")
    history.record_feedback(answer_id, "U1", "down", ["outdated"], "Changed in October.")
    records = history.feedback_records()
    assert [(r["user_id"], r["rating"], r["reasons"], r["details"]) for r in records] == [
        ("U1", "down", ["outdated"], "Changed in October."), ("U2", "up", [], "")]
    assert [r["user_id"] for r in history.feedback_records("up")] == ["U2"]
    assert records[0]["question"] == "How much leave?" and records[0]["abstained"] is False


def test_a_stale_alert_is_claimed_once_and_a_refused_one_retaken_once(state_url: str) -> None:
    history = BotHistory(state_url)
    answer_id = history.record_answer(_answer(), user_id="U1", channel_id="C1",
                                      thread_ts=None, visibility="public")
    ledger = history.alerts
    alert = ledger.claim(answer_id, "handbook:leave.md", "v2")
    assert alert is not None
    assert ledger.claim(answer_id, "handbook:leave.md", "v2") is None  # another replica
    ledger.refused([alert], "ratelimited")
    [pending] = ledger.failed()
    assert pending.claimed_at.tzinfo is not None
    taken = ledger.reclaim(pending)
    assert taken is not None and taken.attempts == 2
    assert ledger.reclaim(pending) is None  # a second process lost the race
    ledger.sent([taken])
    assert ledger.failed() == []


def test_the_adapter_registry_keeps_its_history_across_processes(state_url: str,
                                                                 tmp_path: Path) -> None:
    settings = AppSettings(home=tmp_path / "home", database_url=state_url)
    pushing = AdapterRegistry(settings, cache_s=0)
    assert pushing.next_served_name("voice") == "voice@v2"
    assert pushing.activate("voice", "voice@v2", "/a/1", {"grounded": 0.9}) is None
    replaced = pushing.activate("voice", "voice@v3", "/a/2", None)
    assert replaced is not None and replaced.served_name == "voice@v2"
    serving = AdapterRegistry(settings, cache_s=0)  # the bot, reading what the CLI pushed
    assert serving.served_name("voice") == "voice@v3"
    assert serving.served_name("other") == "other"
    assert [(v.served_name, v.status, v.metrics) for v in serving.versions("voice")] == [
        ("voice@v3", "active", None), ("voice@v2", "retired", {"grounded": 0.9})]
    assert serving.next_served_name("voice") == "voice@v4"


def test_every_store_shares_one_engine_per_database(state_url: str, tmp_path: Path) -> None:
    settings = AppSettings(home=tmp_path / "home", database_url=state_url)
    engines = {id(StateDB(state_url).engine), id(BotHistory(state_url).engine),
               id(AdapterRegistry(settings).engine), id(engine_for(state_url))}
    assert len(engines) == 1


def test_migrations_build_exactly_the_declared_tables(state_url: str) -> None:
    """The baseline revision equals the tables the code declares: nothing for
    autogenerate to add, drop or alter, on either database."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert upgrade(state_url) == head_revision()
    with engine_for(state_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_object": lambda obj, name, type_, *_: name not in SCHEDULER_TABLES})
        assert compare_metadata(context, all_metadata()) == []


def test_upgrade_is_idempotent(state_url: str) -> None:
    assert current_revision(state_url) is None
    assert upgrade(state_url) == upgrade(state_url) == head_revision()
    with engine_for(state_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


_RACE = """
import sys, time
from pathlib import Path
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
from indexer.db import upgrade
print(upgrade(sys.argv[1]))
"""


def test_processes_starting_at_once_migrate_once(state_url: str, tmp_path: Path) -> None:
    """Three processes upgrade a new database at the same moment: each succeeds (the lock
    makes the others wait and find it migrated), and the schema is built once."""
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _RACE, state_url, str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    time.sleep(2.0)  # let every interpreter import and wait at the line
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in outs]
    assert [out.strip() for out, _ in outs] == [head_revision()] * 3
    engine = engine_for(state_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(
            text("alembic_version"))).scalar() == 1
    tables = set(inspect(engine).get_table_names())
    assert {"sync_runs", "answers", "feedback", "adapter_versions"} <= tables


def test_sqlite_is_shared_safely_between_processes(tmp_path: Path) -> None:
    """WAL (a reader never blocks the writer) and a busy timeout (a second writer waits
    instead of failing at once), on every connection of the engine."""
    engine = engine_for(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_scheduled_jobs_persist_in_the_state_database_on_its_one_engine(
        state_url: str, tmp_path: Path) -> None:
    """APScheduler keeps its own table, but on the state database's engine: a restart
    finds the job and its next run time, and ``policybot status`` reads them."""
    from indexer.config import load_settings
    from indexer.index import PolicyIndex
    from indexer.scheduler import JOB_TABLE, next_runs, start_scheduler

    source = {"name": "hr", "type": "directory", "path": str(tmp_path), "schedule": "1h"}
    settings = load_settings(home=tmp_path / "home", database_url=state_url, sources=[source])
    scheduler = start_scheduler(PolicyIndex(settings))
    try:
        assert scheduler._lookup_jobstore("default").engine is engine_for(state_url)
        next_run = scheduler.get_job("sync:hr").next_run_time
    finally:
        scheduler.shutdown(wait=True)
    when, stored = next_runs(state_url, settings.sources)["hr"]
    assert stored and when == next_run
    assert JOB_TABLE in inspect(engine_for(state_url)).get_table_names()
    assert StateDB(state_url).runs() == []  # the engine outlives the scheduler's shutdown
    restarted = start_scheduler(PolicyIndex(settings))
    try:
        assert restarted.get_job("sync:hr").next_run_time == next_run
    finally:
        restarted.shutdown(wait=True)
