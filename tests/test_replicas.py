"""Two ``policybot serve --http`` replicas sharing one PostgreSQL and one LanceDB index,
the way a scaled-out deployment runs behind Slack's HTTP delivery.

Each replica has its own home (another machine, in effect: no shared file locks), the
same ``database_url`` and ``lancedb_uri``. Slack's requests are signed as Slack signs them
and sent to whichever replica the test picks; the Slack Web API is the stand-in, which
counts what was posted. The index is built once per session (``indexed_handbook``) and
the exported embedding model is shared through the test cache, so the replicas start in
seconds. No test sleeps to prove that something did not happen: each waits for a positive
signal (a duplicate counted, a reply posted, a log line), then asserts the counts.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ProgrammingError

from bot.slack import messages
from bot.slack.http import EVENTS_PATH
from indexer.lock import ClusterLock
from indexer.state import utcnow
from tests.pg_server import create_database
from tests.slack_fixtures import SECRET, TOKEN
from tests.slack_signing import app_mention, command_body, event_body, signed
from tests.slack_standin import SlackStandIn
from tests.test_slack_serve import Server, _counter, _start
from tests.waiting import eventually

pytestmark = pytest.mark.slow
CHANNEL = "CREPLICA"
ASKER = "UASKER"
ADMIN = "UADMIN"
QUESTION = "<@UBOT> How many days of annual leave do I get?"
LEASE_S = 2.0  # slack.claim_lease_s: how soon a dead replica's question is free again
WAIT_S = 90.0  # the first answer of a replica waits for its model to load


def _eventually(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    return eventually(check, what, timeout)


@dataclass
class Replica:
    name: str
    server: Server
    http: httpx.Client

    def post(self, body: bytes, ctype: str, **sign: Any) -> httpx.Response:
        return self.http.post(EVENTS_PATH, content=body, headers=signed(SECRET, body, ctype,
                                                                          **sign))

    def metric(self, name: str, labels: str = "") -> float:
        return _counter(self.http.get("/metrics").text, name, labels)

    def log_count(self, line: str) -> int:
        return self.server.output().count(line)


@dataclass
class Deployment:
    replicas: dict[str, Replica]
    slack: SlackStandIn
    db_url: str
    engine: Engine
    root: Path

    def finals(self, thread_ts: str) -> list[Any]:
        """The answers posted in the thread ``thread_ts``: updates of its placeholders to
        something other than the working note."""
        placeholders = {c.response["ts"] for c in self.slack.calls_to("chat.postMessage")
                        if c.params.get("thread_ts") == thread_ts and c.ok}
        return [c for c in self.slack.calls_to("chat.update")
                if c.params.get("ts") in placeholders
                and c.params.get("text") != messages.WORKING]

    def placeholders(self, thread_ts: str) -> list[Any]:
        return [c for c in self.slack.calls_to("chat.postMessage")
                if c.params.get("thread_ts") == thread_ts]

    def duplicates(self) -> float:
        return sum(r.metric("policybot_duplicate_deliveries_total")
                   for r in self.replicas.values() if r.server.proc.poll() is None)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def runs(self, trigger: str) -> int:
        """Sync runs recorded with ``trigger``; 0 before the first sync made the table."""
        try:
            return int(self.scalar("SELECT count(*) FROM sync_runs WHERE trigger = :t",
                                   t=trigger))
        except ProgrammingError:
            return 0


def _config(root: Path, name: str, indexed: Path, model_cache: Path, db_url: str) -> Path:
    """A replica's own home (the exported model read from the session's folder) over the
    shared database, index and documents."""
    home = root / name / "home"
    home.mkdir(parents=True)
    config = root / name / "policybot.toml"
    config.write_text("\n".join([
        f"home = {json.dumps(str(home))}",
        f"database_url = {json.dumps(db_url)}",
        f"lancedb_uri = {json.dumps(str(root / 'lancedb'))}",
        "[embedding]", f"models_dir = {json.dumps(str(model_cache / 'models'))}",
        "[index]", "scheduler_standby_s = 1",
        "[[sources]]", 'name = "handbook"', 'type = "directory"',
        f"path = {json.dumps(str(root / 'docs'))}",
        "[[sources]]", 'name = "extra"', 'type = "directory"',
        f"path = {json.dumps(str(root / 'extra'))}", 'schedule = "2s"',
        "[slack]", "run_scheduler = true", "stream_interval_s = 0.2", 'streaming = "off"',
        f"claim_lease_s = {LEASE_S}", f"admins = [{json.dumps(ADMIN)}]", ""]),
        encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, indexed_handbook: Path,
               model_cache: Path, embedder: Any, postgres_url: str) -> Iterator[Deployment]:
    embedder.export()  # the replicas find the exported model in the shared cache
    root = tmp_path_factory.mktemp("replicas")
    shutil.copytree(indexed_handbook / "home" / "lancedb", root / "lancedb")
    shutil.copytree(indexed_handbook / "docs", root / "docs")
    (root / "extra").mkdir()
    db_url = create_database(postgres_url)
    started: list[Server] = []
    clients: list[httpx.Client] = []
    with SlackStandIn() as slack:
        def start(name: str) -> Server:
            config = _config(root, name, indexed_handbook, model_cache, db_url)
            server = _start(["--http", "--host", "127.0.0.1", "--port", "0", "--threads", "8"],
                            config, root / name / "serve.log", SLACK_BOT_TOKEN=TOKEN,
                            SLACK_SIGNING_SECRET=SECRET, POLICYBOT_SLACK_API_URL=slack.url)
            started.append(server)
            return server

        try:
            with ThreadPoolExecutor(2) as pool:  # both start at once, as a rollout does
                servers = dict(zip(("a", "b"), pool.map(start, ("a", "b")), strict=True))
            replicas = {}
            for name, server in servers.items():
                clients.append(httpx.Client(base_url=server.url, timeout=10))
                replicas[name] = Replica(name, server, clients[-1])
            engine = create_engine(db_url)
            yield Deployment(replicas, slack, db_url, engine, root)
            engine.dispose()
        finally:
            for client in clients:
                client.close()
            for server in started:
                server.stop()


def _ask(ts: str, event_id: str) -> tuple[bytes, str]:
    return event_body(app_mention(QUESTION, ASKER, CHANNEL, ts), event_id)


def test_an_event_and_its_retry_on_different_replicas_are_answered_once(
        deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    # delivered to both at the same moment: the two workers race for the claim
    ts = "1700002000.000100"
    body, ctype = _ask(ts, "EvREPLICA0001")
    before = deployment.duplicates()
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda r=r, n=n: statuses.append(
        r.post(body, ctype, **({"retry_num": n} if n else {})).status_code))
        for r, n in ((a, 0), (b, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]
    _eventually(lambda: deployment.finals(ts), "the answer")
    _eventually(lambda: deployment.duplicates() >= before + 1, "the duplicate to be skipped")
    assert len(deployment.placeholders(ts)) == 1
    (final,) = deployment.finals(ts)
    assert "25" in final.params["text"]  # the handbook grants 25 days

    # a later retry, on the replica that did not answer, after the answer is done
    before = deployment.duplicates()
    assert b.post(body, ctype, retry_num=2).status_code == 200
    assert a.post(body, ctype, retry_num=3).status_code == 200
    _eventually(lambda: deployment.duplicates() >= before + 2, "both retries to be skipped")
    assert len(deployment.placeholders(ts)) == 1
    assert len(deployment.finals(ts)) == 1


def test_a_reindex_clicked_on_each_replica_runs_once(deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    slack = deployment.slack
    runs_before = deployment.runs("slack-reindex")
    # hold the index's sync lock, as a long sync elsewhere would: the first re-index is
    # then still running when the second click arrives, however fast the machine
    busy = ClusterLock("sync-chunks", deployment.root, deployment.db_url)
    assert busy.acquire(30)
    try:
        first, ctype = command_body("reindex", ADMIN, CHANNEL,
                                    response_url=slack.response_url("reindex-a"))
        assert a.post(first, ctype).status_code == 200
        started = slack.wait_for("chat.postMessage", timeout=WAIT_S, where=lambda c:
                                 c.params.get("channel") == ADMIN
                                 and c.params.get("text") == messages.reindex_started(None))
        second, ctype = command_body("reindex", ADMIN, CHANNEL,
                                     response_url=slack.response_url("reindex-b"))
        assert b.post(second, ctype).status_code == 200
        slack.wait_for("response_url", timeout=WAIT_S, where=lambda c:
                       c.params.get("_name") == "reindex-b"
                       and c.params.get("text") == messages.REINDEX_ALREADY_RUNNING)
    finally:
        busy.release()
    dm_ts = started[0].response["ts"]
    slack.wait_for("chat.update", timeout=WAIT_S, where=lambda c:
                   c.params.get("ts") == dm_ts
                   and "Re-indexed" in str(c.params.get("text")))
    assert len([c for c in slack.calls_to("chat.postMessage")
                if c.params.get("text") == messages.reindex_started(None)]) == 1
    runs = deployment.runs("slack-reindex") - runs_before
    assert runs == 2  # one full re-index: one run for each of the two sources


def test_the_sync_schedule_runs_on_exactly_one_replica(deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    done = "scheduled sync of extra finished"
    before = deployment.runs("schedule")
    _eventually(lambda: deployment.runs("schedule") >= before + 3, "three scheduled syncs")
    total = deployment.runs("schedule")
    # every scheduled run in the database is logged by the replica that ran it (a moment
    # after it is recorded): wait until the logs account for them all, then see whose
    _eventually(lambda: a.log_count(done) + b.log_count(done) >= total, "the logs")
    ran = {r.name: r.log_count(done) for r in (a, b)}
    assert sorted(ran.values())[0] == 0, f"both replicas ran scheduled syncs: {ran}"
    leader = a if ran["a"] else b
    standby = b if leader is a else a
    assert leader.log_count("this process runs the sync schedule") == 1
    assert standby.log_count("another process runs the sync schedule; standing by") == 1


def test_a_refused_stale_alert_is_retried_by_one_replica(deployment: Deployment) -> None:
    from bot.history_tables import answers, stale_alerts

    a, b = deployment.replicas["a"], deployment.replicas["b"]
    slack = deployment.slack
    thread = "1700002100.000100"
    with deployment.engine.begin() as conn:  # an answer whose alert Slack refused once
        conn.execute(insert(answers).values(
            id="f" * 32, created_at=utcnow(), user_id=ASKER, channel_id=CHANNEL,
            thread_ts=thread, message_ts=thread, visibility="public",
            question="How many days of annual leave?", text="25 days [1]", abstained=False,
            grounded=True, generator="extractive", model="", audiences=[], citations=[
                {"doc_id": "handbook:leave.md", "title": "Leave", "source": "handbook"}]))
        conn.execute(insert(stale_alerts).values(
            answer_id="f" * 32, doc_id="handbook:leave.md", change="v2", claimed_at=utcnow(),
            attempts=1, last_error="ratelimited"))
    # each replica syncs (and then runs its alert pass); the leader's schedule runs too
    names = []
    for replica in (a, b):
        body, ctype = command_body("refresh extra", ASKER, CHANNEL,
                                   response_url=slack.response_url(f"refresh-{replica.name}"))
        names.append(f"refresh-{replica.name}")
        assert replica.post(body, ctype).status_code == 200
    for name in names:  # the reply comes after that replica's sync and its alert pass
        slack.wait_for("response_url", timeout=WAIT_S,
                       where=lambda c, name=name: c.params.get("_name") == name)
    posts = _eventually(lambda: [c for c in slack.calls_to("chat.postMessage")
                                 if c.params.get("thread_ts") == thread], "the alert")
    assert len(posts) == 1
    with deployment.engine.connect() as conn:
        row = conn.execute(select(stale_alerts.c.sent_at, stale_alerts.c.attempts)
                           .where(stale_alerts.c.answer_id == "f" * 32)).one()
    assert row.sent_at is not None
    assert row.attempts == 2


def test_a_replica_killed_mid_answer_loses_nothing_done_and_the_other_answers_the_retry(
        deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    slack = deployment.slack
    # a question answered (acknowledged as done) by A before it dies
    done_ts = "1700002200.000100"
    done_body, ctype = _ask(done_ts, "EvREPLICADONE")
    assert a.post(done_body, ctype).status_code == 200
    _eventually(lambda: deployment.finals(done_ts), "A's answer")
    # a question A is still answering when it is killed: its placeholder post hangs
    slack.slow("chat.postMessage", 120.0, times=1)
    ts = "1700002300.000100"
    body, ctype = _ask(ts, "EvREPLICAKILL")
    assert a.post(body, ctype).status_code == 200
    _eventually(lambda: deployment.placeholders(ts), "A to start answering")
    a.server.proc.send_signal(signal.SIGKILL)
    a.server.proc.wait(timeout=10)
    # Slack retries; once A's lease has lapsed, B takes the question and answers it
    _eventually(lambda: deployment.scalar(
        "SELECT count(*) FROM slack_claims WHERE key = 'event:EvREPLICAKILL' "
        "AND lease_until < now()") == 1, "A's claim to lapse", timeout=LEASE_S + 30)
    assert b.post(body, ctype, retry_num=1).status_code == 200
    (final,) = _eventually(lambda: deployment.finals(ts), "B's answer to the retry")
    assert "25" in final.params["text"]
    # what A finished is still done: stored, and a retry of it is not answered again
    assert deployment.scalar("SELECT count(*) FROM answers WHERE thread_ts = :t "
                             "AND message_ts IS NOT NULL", t=done_ts) == 1
    before = b.metric("policybot_duplicate_deliveries_total")
    assert b.post(done_body, ctype, retry_num=1).status_code == 200
    _eventually(lambda: b.metric("policybot_duplicate_deliveries_total") >= before + 1,
                "the retry of the finished question to be skipped")
    assert len(deployment.finals(done_ts)) == 1
    # B keeps serving new questions, and runs the schedule if A ran it
    fresh = "1700002400.000100"
    assert b.post(*_ask(fresh, "EvREPLICAFRESH")).status_code == 200
    _eventually(lambda: deployment.finals(fresh), "B's answer to a new question")
    if a.log_count("this process runs the sync schedule"):
        _eventually(lambda: b.log_count("this process runs the sync schedule"),
                    "B to take over the schedule", timeout=30)
    assert b.server.proc.poll() is None
