"""The state that several replicas share, on a real PostgreSQL (and on SQLite where the
same guarantee holds for processes on one machine): question claims, stale-alert retries
and the deployment-wide locks, raced from threads that each hold their own connection,
the way separate processes do."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from bot.alert_ledger import Alert, AlertLedger
from bot.history import BotHistory
from bot.history_tables import answers, slack_claims, stale_alerts
from indexer.lock import ClusterLock, advisory_key
from indexer.state import utcnow
from tests.pg_server import create_database

RACERS = 8


def race(fn: Callable[[int], Any], n: int = RACERS) -> list[Any]:
    """``fn(i)`` from ``n`` threads released at once; their results in order."""
    gate = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        gate.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return create_database(request.getfixturevalue("postgres_url"))


def test_a_question_raced_by_many_replicas_is_claimed_by_exactly_one(db_url: str) -> None:
    replicas = [BotHistory(db_url) for _ in range(RACERS)]  # an engine (a process) each
    for round_ in range(5):
        keys = [f"event:EvRACE{round_}", f"msg:C1:170000000{round_}.000100"]
        won = race(lambda i, keys=keys: replicas[i].claim_question(keys, lease_s=30))
        assert won.count(True) == 1, won


def test_a_lapsed_claim_is_taken_over_but_a_finished_question_never_again(
        db_url: str) -> None:
    dead, alive = BotHistory(db_url), BotHistory(db_url)
    assert dead.claim_question(["event:EvDIED"], lease_s=30)
    assert not alive.claim_question(["event:EvDIED"], lease_s=30)  # still leased
    with dead.engine.begin() as conn:  # the holder died and stopped renewing
        conn.execute(update(slack_claims).where(slack_claims.c.key == "event:EvDIED")
                     .values(lease_until=utcnow() - timedelta(seconds=1)))
    assert alive.claim_question(["event:EvDIED"], lease_s=30)
    assert not dead.claim_question(["event:EvDIED"], lease_s=30)

    assert alive.claim_question(["event:EvDONE", "msg:C1:1.1"], lease_s=30)
    alive.finish_claims(["event:EvDONE", "msg:C1:1.1"])
    with alive.engine.begin() as conn:
        conn.execute(update(slack_claims).values(claimed_at=utcnow() - timedelta(hours=1)))
    # the other delivery of the same message (message event, other event id) is done too
    assert not dead.claim_question(["event:EvOTHER", "msg:C1:1.1"], lease_s=30)
    with dead.engine.connect() as conn:  # all or nothing: EvOTHER was not left claimed
        keys = set(conn.execute(select(slack_claims.c.key)).scalars())
    assert "event:EvOTHER" not in keys


def test_a_renewed_claim_outlives_its_first_lease(db_url: str) -> None:
    holder, other = BotHistory(db_url), BotHistory(db_url)
    assert holder.claim_question(["event:EvLONG"], lease_s=1)
    holder.renew_claims(["event:EvLONG"], lease_s=60)
    with holder.engine.connect() as conn:
        until = conn.execute(select(slack_claims.c.lease_until)).scalar_one()
    assert until is not None
    assert not other.claim_question(["event:EvLONG"], lease_s=1)


def test_votes_clicked_at_once_on_several_replicas_all_land_as_one_vote(db_url: str) -> None:
    """The same user's 👍/👎 on one answer, handled at the same instant by several
    processes: none fails, and one vote (one of theirs) is what is stored."""
    first = BotHistory(db_url)
    with first.engine.begin() as conn:
        conn.execute(insert(answers).values(
            id="b" * 32, created_at=utcnow(), user_id="U1", channel_id="C1", thread_ts="1.1",
            message_ts="1.1", visibility="public", question="q", text="t", abstained=False,
            grounded=True, generator="extractive", model="", audiences=[], citations=[]))
    replicas = [BotHistory(db_url) for _ in range(RACERS)]
    ratings = ["up" if i % 2 else "down" for i in range(RACERS)]

    def vote(i: int) -> str:
        try:
            replicas[i].record_feedback("b" * 32, "UVOTER", ratings[i], [f"r{i}"])
        except Exception as exc:  # noqa: BLE001 - the failure is the finding
            return f"failed: {exc}"
        return "ok"

    for _ in range(3):
        assert race(vote) == ["ok"] * RACERS
    (stored,) = first.feedback_records()
    winner = int(stored["reasons"][0].removeprefix("r"))
    assert stored["rating"] == ratings[winner]  # one racer's vote, whole, not a mix


def test_a_refused_stale_alert_is_retried_by_exactly_one_process(db_url: str) -> None:
    first = BotHistory(db_url)
    now = utcnow()
    with first.engine.begin() as conn:
        conn.execute(insert(answers).values(
            id="a" * 32, created_at=now, user_id="U1", channel_id="C1", thread_ts="1.1",
            message_ts="1.1", visibility="public", question="q", text="t", abstained=False,
            grounded=True, generator="extractive", model="", audiences=[], citations=[]))
    ledger = first.alerts
    claimed = ledger.claim("a" * 32, "handbook:leave.md", "v2")
    assert claimed is not None
    ledger.refused([claimed], "ratelimited")
    ledgers = [AlertLedger(BotHistory(db_url).engine) for _ in range(RACERS)]
    (failed,) = ledgers[0].failed()
    taken = race(lambda i: ledgers[i].reclaim(failed))
    assert sum(1 for t in taken if isinstance(t, Alert)) == 1, taken
    with first.engine.connect() as conn:
        assert conn.execute(select(stale_alerts.c.attempts)).scalar_one() == 2


def test_a_cluster_lock_is_exclusive_and_freed_when_its_holder_is_killed(
        db_url: str, tmp_path: Path) -> None:
    """The holder is another process, killed with SIGKILL while it holds the lock."""
    held = tmp_path / "held"
    script = (
        "import sys, time; from pathlib import Path; from indexer.lock import ClusterLock\n"
        f"lock = ClusterLock('sync-chunks', Path({str(tmp_path)!r}), {db_url!r})\n"
        "assert lock.acquire(10)\n"
        f"Path({str(held)!r}).write_text('1')\n"
        "time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not held.exists():
            assert holder.poll() is None, "the holder process exited"
            assert time.monotonic() < deadline, "the holder never took the lock"
            time.sleep(0.05)
        mine = ClusterLock("sync-chunks", tmp_path, db_url)
        assert not mine.acquire(0)
        assert ClusterLock("sync-other", tmp_path, db_url).acquire(0)  # names are apart
        holder.kill()
        holder.wait(timeout=10)
        assert mine.acquire(10), "the lock of a killed process was never freed"
        assert mine.alive()
        mine.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)


def test_advisory_keys_are_stable_signed_64_bit_integers() -> None:
    key = advisory_key("sync-chunks")
    assert key == advisory_key("sync-chunks") != advisory_key("scheduler")
    assert -(2 ** 63) <= key < 2 ** 63


def test_two_processes_creating_the_tables_at_once_both_start(postgres_url: str) -> None:
    """Replicas rolled out together create the schema together; neither may fail on the
    other's CREATE TABLE."""
    from indexer.state import StateDB

    for _ in range(3):
        url = create_database(postgres_url)
        made = race(lambda i, url=url: (BotHistory(url), StateDB(url)) and True, n=6)
        assert made == [True] * 6
