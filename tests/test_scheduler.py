"""The real APScheduler over the state database: scheduled syncs run, never overlap each
other or a sync started by hand, jobs persist and follow the configuration."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text

from indexer.scheduler import JOB_TABLE, next_runs, start_scheduler
from indexer.state import RunRecord
from indexer.status import index_status
from tests.conftest import write

Start = Callable[[Any], BackgroundScheduler]


@pytest.fixture
def start() -> Iterator[Start]:
    """start_scheduler, with every scheduler shut down at the end whatever happens."""
    started: list[BackgroundScheduler] = []

    def run(index: Any) -> BackgroundScheduler:
        index.state  # noqa: B018 - create the lazy parts here, not racing the job thread
        index.store  # noqa: B018
        scheduler = start_scheduler(index)
        started.append(scheduler)
        return scheduler

    yield run
    for scheduler in started:
        if scheduler.running:
            scheduler.shutdown(wait=True)


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def docs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root, "leave.md", "# Annual leave\n\nEveryone gets 25 days of paid leave a year.\n")
    write(root, "travel.md", "# Travel\n\nBook economy class; trains under 500 km.\n")
    return root


def stored_jobs(db_url: str) -> dict[str, float | None]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {job_id: ts for job_id, ts in
                    conn.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE}"))}
    finally:
        engine.dispose()


def test_scheduled_sync_runs_and_indexes_the_source(tmp_path: Path, make_index, start):
    index = make_index([{"name": "hr", "type": "directory", "path": str(docs_dir(tmp_path)),
                         "schedule": "1s"}])
    scheduler = start(index)
    assert wait_for(lambda: any(r.trigger == "schedule" for r in index.state.runs("hr")), 15)
    scheduler.shutdown(wait=True)

    first = next(r for r in index.state.runs("hr") if r.trigger == "schedule")
    assert (first.status, first.added, first.error) == ("ok", 2, None)
    assert first.started_at <= first.finished_at
    rows = index.store.table.search().where("source = 'hr'").select(["doc_id"]) \
        .limit(None).to_list()
    docs, chunks = len({r["doc_id"] for r in rows}), len(rows)
    assert docs == 2 and chunks >= 2

    (hr,) = index_status(index)["sources"]
    assert (hr["documents"], hr["chunks"]) == (docs, chunks)
    assert hr["last_sync"]["status"] == "ok" and hr["last_sync"]["trigger"] == "schedule"
    assert hr["schedule"] == "1s" and hr["next_run_scheduled"] is True
    assert isinstance(hr["next_run"], datetime)


# -- no overlap ---------------------------------------------------------------------------

PAGE_DELAY = 1.5


class SlowSite(BaseHTTPRequestHandler):
    """Every page takes PAGE_DELAY seconds; records the most requests in flight at once."""

    server: Any

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        stats = self.server.stats
        with stats["lock"]:
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
            stats["requests"] += 1
        time.sleep(PAGE_DELAY)
        with stats["lock"]:
            stats["in_flight"] -= 1
        body = b"<html><body><h1>Remote work</h1><p>Work from home two days a week.</p></body>"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def slow_site() -> Iterator[tuple[str, dict[str, Any]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowSite)
    server.stats = {"lock": threading.Lock(), "in_flight": 0,  # type: ignore[attr-defined]
                    "max_in_flight": 0, "requests": 0}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.stats  # type: ignore
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def assert_disjoint(runs: list[RunRecord]) -> None:
    ordered = sorted(runs, key=lambda r: r.started_at)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        assert earlier.started_at <= earlier.finished_at
        assert earlier.finished_at <= later.started_at, (earlier, later)


def test_scheduled_and_manual_syncs_never_overlap_and_missed_runs_coalesce(
        make_index, start, slow_site):
    base, stats = slow_site
    index = make_index([{"name": "intranet", "type": "web", "urls": [f"{base}/remote.html"],
                         "respect_robots": False, "schedule": "1s",
                         "allow_private_network": True}])
    began = time.monotonic()
    scheduler = start(index)
    time.sleep(1.2)  # the first scheduled run is under way now
    manual = [index.sync(trigger="cli") for _ in range(2)]  # each waits for the running one
    time.sleep(max(0.0, 7.0 - (time.monotonic() - began)))
    scheduler.shutdown(wait=True)  # lets a running sync finish
    elapsed = time.monotonic() - began

    assert all(r.ok for r in manual)
    runs = index.state.runs()
    assert all(r.status == "ok" for r in runs), runs
    assert_disjoint(runs)
    assert stats["max_in_flight"] == 1  # the site never saw two syncs at once either
    assert stats["requests"] == len(runs)

    scheduled = [r for r in runs if r.trigger == "schedule"]
    assert sum(r.trigger == "cli" for r in runs) == 2
    shortest = min((r.finished_at - r.started_at).total_seconds() for r in runs)
    assert shortest >= PAGE_DELAY - 0.05
    assert 2 <= len(scheduled) <= elapsed / shortest + 1, (len(scheduled), elapsed)
    # fire times that came while a sync was running were skipped, not queued up
    assert scheduler.skipped["sync:intranet"] >= 1


# -- persistence --------------------------------------------------------------------------

def test_jobs_persist_and_follow_the_configuration(tmp_path: Path, make_index, start):
    docs = str(docs_dir(tmp_path))
    hr = {"name": "hr", "type": "directory", "path": docs, "schedule": "1h"}
    it = {"name": "it", "type": "directory", "path": docs, "schedule": "0 6 * * 1-5"}
    index = make_index([hr, it])
    db_url = index.settings.db_url

    # before any scheduler: computed from the schedule, not stored
    when, stored = next_runs(db_url, index.settings.sources)["hr"]
    assert stored is False and isinstance(when, datetime) and when > datetime.now(UTC)

    start(index).shutdown(wait=True)
    jobs = stored_jobs(db_url)
    assert set(jobs) == {"sync:hr", "sync:it"}
    upcoming = next_runs(db_url, index.settings.sources)
    assert upcoming["hr"] == (datetime.fromtimestamp(jobs["sync:hr"], UTC), True)
    assert upcoming["it"][1] is True
    assert upcoming["it"][0].hour == 6 and upcoming["it"][0].weekday() < 5
    assert 3590 < jobs["sync:hr"] - time.time() <= 3600

    # a restart with the same schedules keeps the stored next run times
    time.sleep(0.05)
    start(make_index([hr, it])).shutdown(wait=True)
    assert stored_jobs(db_url) == jobs

    # a changed schedule replaces the job; a dropped schedule or source removes it
    time.sleep(0.05)
    changed = make_index([{**hr, "schedule": "2h"}, {**it, "schedule": None}])
    start(changed).shutdown(wait=True)
    after = stored_jobs(db_url)
    assert set(after) == {"sync:hr"}
    assert 7190 < after["sync:hr"] - time.time() <= 7200
    assert next_runs(db_url, changed.settings.sources)["it"] == (None, False)

    start(make_index([{**it, "schedule": None}])).shutdown(wait=True)
    assert stored_jobs(db_url) == {}
    assert index.state.runs() == []  # nothing fired in all that


# -- status -------------------------------------------------------------------------------

def test_index_status_shows_counts_and_last_sync_per_source(tmp_path: Path, make_index):
    docs = str(docs_dir(tmp_path))
    index = make_index([
        {"name": "hr", "type": "directory", "path": docs, "schedule": "30m"},
        {"name": "gone", "type": "directory", "path": str(tmp_path / "nowhere")},
    ])
    before = {s["name"]: s for s in index_status(index)["sources"]}
    assert before["hr"]["documents"] == 0 and before["hr"]["last_sync"] is None

    result = index.sync()
    assert not result.ok
    status = index_status(index)
    by_name = {s["name"]: s for s in status["sources"]}
    hr, gone = by_name["hr"], by_name["gone"]
    assert hr["documents"] == 2 and hr["chunks"] >= 2
    assert hr["last_sync"]["status"] == "ok" and hr["last_sync"]["added"] == 2
    assert hr["last_sync"]["trigger"] == "cli"
    assert hr["next_run_scheduled"] is False and isinstance(hr["next_run"], datetime)
    assert (gone["documents"], gone["chunks"]) == (0, 0)
    assert gone["last_sync"]["status"] == "failed"
    assert "does not exist" in gone["last_sync"]["error"]
    assert gone["next_run"] is None and gone["schedule"] is None
    assert status["unconfigured_sources_in_index"] == []

    # a source dropped from the configuration is reported as orphaned in the index
    renamed = make_index([{"name": "people", "type": "directory", "path": docs}])
    assert index_status(renamed)["unconfigured_sources_in_index"] == ["hr"]
