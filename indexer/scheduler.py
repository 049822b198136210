"""Runs each source's sync on its schedule (APScheduler 3.x).

Jobs persist in the state database, so a restart neither forgets a schedule nor runs a
missed sync more than once (coalescing). APScheduler creates and owns its job table
(``apscheduler_jobs``; the migrations leave it alone), on the process's one engine for the
state database. One worker thread plus the index lock mean no
two syncs ever overlap, even with `policybot sync` started by hand meanwhile.

APScheduler 3 cannot share a job store between running schedulers (each would run every
job), so with several replicas :class:`ScheduleLeader` runs the scheduler only in the
process that holds the ``scheduler`` lock (:mod:`indexer.lock`); the others stand by and
take over within ``index.scheduler_standby_s`` when that process is gone.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Column, Float, MetaData, String, Table, inspect, select

from indexer.db import engine_for, open_state
from indexer.errors import PolicyBotError
from indexer.lock import ClusterLock
from indexer.schedule import parse_schedule

log = logging.getLogger(__name__)
JOB_TABLE = "apscheduler_jobs"
JOB_PREFIX = "sync:"
_INDEX: dict[str, Any] = {}  # the PolicyIndex the running scheduler's jobs use
# The two columns of APScheduler's table that ``next_runs`` reads (a separate MetaData:
# the table is APScheduler's, not the migrations').
_jobs = Table(JOB_TABLE, MetaData(), Column("id", String(191), primary_key=True),
              Column("next_run_time", Float(25)))


class SharedEngineJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store on the process's one state engine: its shutdown
    leaves the engine to the other users instead of disposing of it."""

    def shutdown(self) -> None:
        pass


def run_scheduled_sync(source: str) -> None:
    """Job entry point, referenced by name in the persistent job store."""
    index = _INDEX.get("index")
    if index is None:
        log.error("scheduled sync of %s: no index attached to the scheduler", source)
        return
    try:
        result = index.sync([source], trigger="schedule")
    except PolicyBotError as exc:
        log.warning("scheduled sync of %s did not run: %s", source, exc)
        return
    s = result.summary()
    log.info("scheduled sync of %s finished: %s added=%d updated=%d unchanged=%d deleted=%d "
             "failed=%d embedded=%d in %.1fs", source, result.reports[0].status, s["added"],
             s["updated"], s["unchanged"], s["deleted"], s["failed"], s["chunks_embedded"],
             s["seconds"])


class PolicyScheduler(BackgroundScheduler):
    """APScheduler's background scheduler, counting the fire times it skipped per job
    because the job's previous run was still going (``skipped``): with ``max_instances=1``
    and ``coalesce`` they are dropped, not queued behind a long sync."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.skipped: Counter[str] = Counter()
        self.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)

    def _on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.skipped[event.job_id] += 1
            log.info("skipped %s: its previous run is still going", event.job_id)
        elif event.exception is not None:
            log.error("job %s failed: %s", event.job_id, event.exception)


def start_scheduler(index: Any) -> PolicyScheduler:
    """Start a background scheduler with one job per scheduled source."""
    _INDEX["index"] = index
    scheduler = PolicyScheduler(
        jobstores={"default": SharedEngineJobStore(engine=open_state(index.settings.db_url),
                                                   tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=UTC,
    )
    scheduler.start(paused=True)
    _reconcile(scheduler, index.settings.sources)
    scheduler.resume()
    for job in scheduler.get_jobs():
        log.info("scheduled %s (%s), next run %s", job.id, job.trigger, job.next_run_time)
    return scheduler


class ScheduleLeader:
    """The sync scheduler of a process that may be one of several replicas: started only
    while this process holds the deployment's ``scheduler`` lock, stopped if it loses it."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.lock = ClusterLock("scheduler", index.settings.home, index.settings.database_url)
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedule-leader", daemon=True)

    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    def start(self) -> ScheduleLeader:
        self._step()  # at once: a single process schedules before start() returns
        self._thread.start()
        return self

    def _step(self) -> None:
        if self.scheduler is None:
            if self.lock.acquire(0):
                log.info("this process runs the sync schedule")
                try:
                    self.scheduler = start_scheduler(self.index)
                except Exception:
                    self.lock.release()
                    raise
        elif not self.lock.alive():  # the database connection (and the lock) are gone
            log.warning("lost the scheduler lock: stopping this process's sync schedule")
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            self.lock.release()

    def _run(self) -> None:
        standby = self.index.settings.index.scheduler_standby_s
        if self.scheduler is None:
            log.info("another process runs the sync schedule; standing by (checked every "
                     "%.0fs)", standby)
        while not self._stop.wait(standby):
            try:
                self._step()
            except Exception:  # the database may be briefly away: try again next time
                log.exception("scheduler lock check failed")

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=wait)
            self.scheduler = None
        self.lock.release()


def _reconcile(scheduler: BackgroundScheduler, sources: list[Any]) -> None:
    """Jobs follow the configuration; an unchanged schedule keeps its next run time."""
    wanted = {JOB_PREFIX + s.name: s for s in sources if s.schedule}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            log.info("removing %s: the source is no longer scheduled", job.id)
            job.remove()
    for job_id, source in wanted.items():
        trigger = parse_schedule(source.schedule)
        existing = scheduler.get_job(job_id)
        if existing is not None and str(existing.trigger) == str(trigger):
            continue
        scheduler.add_job(run_scheduled_sync, trigger=trigger, id=job_id, args=[source.name],
                          name=f"sync {source.name}", replace_existing=True)


def next_runs(db_url: str, sources: list[Any]) -> dict[str, tuple[datetime | None, bool]]:
    """source → (next run, whether a scheduler has stored it) for ``policybot status``."""
    stored: dict[str, float] = {}
    engine = engine_for(db_url)
    if inspect(engine).has_table(JOB_TABLE):  # else no scheduler has ever run here
        with engine.connect() as conn:
            for job_id, ts in conn.execute(select(_jobs.c.id, _jobs.c.next_run_time)):
                if ts is not None:
                    stored[job_id] = float(ts)
    out: dict[str, tuple[datetime | None, bool]] = {}
    now = datetime.now(UTC)
    for s in sources:
        if not s.schedule:
            out[s.name] = (None, False)
        elif JOB_PREFIX + s.name in stored:
            out[s.name] = (datetime.fromtimestamp(stored[JOB_PREFIX + s.name], UTC), True)
        else:
            out[s.name] = (parse_schedule(s.schedule).get_next_fire_time(None, now), False)
    return out
