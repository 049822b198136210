"""Slack events under load: ``policybot serve --http`` on loopback, answering into the stand-in.

Why: Slack re-sends an event it got no 200 for within 3 seconds, so the ack must stay far
below that while the same two cores are busy answering; and a question must be answered
exactly once, whether or not Slack re-delivers it. This drives the real server process
(waitress, signature checks, dedupe, the worker pool, the extractive generator) with
signed ``app_mention`` events and watches the Web API calls it makes.

Each run starts a fresh server on a copy of one indexed home (the bundled sample
handbook) and then:
1. warms it up with 3 questions (model and answerer load; not timed);
2. asks 20 questions one at a time: the uncontended baseline;
3. load: ``--events`` questions (default 200, the hand-written handbook questions of
   bench/eval, cycled) from ``--senders`` concurrent senders (default 50). Each sender is
   a person: it sends its question, then waits for the answer before asking the next, so
   at most ``--senders`` questions are in flight. Every event has its own user id (the
   per-user rate limit is raised too), so nothing is refused for rate;
4. re-sends 20 of those events with ``X-Slack-Retry-Num: 1``, as Slack does after a
   timeout, and checks that each event has exactly one placeholder and one answer.

The concurrent senders run in a process of their own (slack_senders.py), apart from the
stand-in, so neither waits on the other's GIL and the ack is the server's.

Measured per question: ack latency (request sent → HTTP 200 read) and time to answer
(request sent → the stand-in receiving the ``chat.update`` that replaces the placeholder
with the answer); per run: duplicates, "busy" notes, errors, the server's peak RSS
(``VmHWM``). The whole run is repeated ``--runs`` times (default 3) and medians across
runs are reported. The stand-in answers Web API calls at once; real Slack adds two round
trips (placeholder, update) to the time to answer, not to the ack.

``--streaming auto`` runs the same with native streaming (issue 12): the answer's message
is the one ``chat.startStream`` opens and the answer arrives with its ``chat.stopStream``;
every run also reports the Web API calls per answer, by method, to compare the two paths
against Slack's per-method tiers.

Run: ``.venv/bin/python bench/slack_load.py`` (about 3 min on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import BENCH, RESULTS, load_now, percentile, setup_logging, table, write_results

ROOT = BENCH.parent
EVAL = BENCH / "eval"
SECRET = "5ba1c0ffee5ba1c0ffee5ba1c0ffee00"
TOKEN = "xoxb-17-42-policybotbenchtoken"
CHANNEL = "CBENCH"
SLACK_DEADLINE_S = 3.0
ACK_GOAL_S = 0.1
LISTENING = re.compile(r"listening on http://[^\s:]+:(\d+)")
WARMUP, SEQUENTIAL, RETRIES = 3, 20, 20


def _support() -> tuple[Any, Any, Any, Any]:
    """The test-suite's Slack stand-in and signing helpers: the benchmark sends exactly
    what the tests send. ``tests`` is not an installed package, hence the path."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.slack_signing import app_mention, event_body, signed
    from tests.slack_standin import SlackStandIn

    return SlackStandIn, app_mention, event_body, signed


def questions() -> list[str]:
    """The hand-written handbook questions, dev then test half: distinct and realistic."""
    out: list[str] = []
    for name in ("handbook_dev.jsonl", "handbook_test.jsonl"):
        for line in (EVAL / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    return list(dict.fromkeys(out))


def observed_standin() -> Any:
    """A stand-in that also notes, per thread, the placeholders, the answers and the notes
    it received, with arrival times on this process's monotonic clock."""
    from bot.slack.messages import WORKING

    stand_in, *_ = _support()

    class Observed(stand_in):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.seen = threading.Condition()
            self.thread_of: dict[str, str] = {}  # placeholder ts → thread (event ts)
            self.placeholders: Counter[str] = Counter()
            self.answers: dict[str, list[tuple[float, str]]] = defaultdict(list)
            self.notes: dict[str, list[str]] = defaultdict(list)
            self.streamed: set[str] = set()  # ts of natively streamed answers
            self.methods: Counter[str] = Counter()  # every Web API call, by method

        def _handle(self, method: str, params: dict[str, Any], headers: dict[str, str],
                    body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
            if method == "bench.outcome":  # asked by the sender process (slack_senders.py)
                outcome, when = self.outcome(params["thread"], float(params["timeout"]))
                return 200, {"ok": True, "outcome": outcome, "arrived": when}, {}
            arrived = time.monotonic()
            status, answer, extra = super()._handle(method, params, headers, body)
            with self.seen:
                self.methods[method] += 1
                if method == "chat.startStream" and answer.get("ok"):
                    self.thread_of[answer["ts"]] = params["thread_ts"]
                    self.placeholders[params["thread_ts"]] += 1  # the answer's one message
                    self.streamed.add(answer["ts"])
                elif method == "chat.stopStream" and answer.get("ok"):
                    thread = self.thread_of.get(params.get("ts", ""))
                    if thread:
                        self.answers[thread].append((arrived, str(params.get("blocks", ""))))
                elif method == "chat.update" and params.get("ts") in self.streamed:
                    pass  # a streamed answer replaced after its stop: still one answer
                elif method == "chat.postMessage" and answer.get("ok") and params.get("thread_ts"):
                    self.thread_of[answer["ts"]] = params["thread_ts"]
                    self.placeholders[params["thread_ts"]] += 1
                elif method == "chat.update" and answer.get("ok"):
                    thread = self.thread_of.get(params.get("ts", ""))
                    if thread and params.get("text") != WORKING:
                        self.answers[thread].append((arrived, str(params.get("text", ""))))
                elif method == "chat.postEphemeral" and params.get("thread_ts"):
                    self.notes[params["thread_ts"]].append(str(params.get("text", "")))
                self.seen.notify_all()
            return status, answer, extra

        def outcome(self, thread: str, timeout: float) -> tuple[str, float | None]:
            """("answer", arrival) / ("note", None) / ("timeout", None) for one event."""
            with self.seen:
                self.seen.wait_for(lambda: thread in self.answers or thread in self.notes,
                                   timeout)
                if thread in self.answers:
                    return "answer", self.answers[thread][0][0]
                return ("note", None) if thread in self.notes else ("timeout", None)

    return Observed()


def _command() -> list[str]:
    script = Path(sys.executable).with_name("policybot")
    return [str(script)] if script.exists() else [
        sys.executable, "-c", "from bot.cli import main; main()"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYBOT_", "SLACK_"))}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def write_config(root: Path, streaming: str = "off") -> Path:
    from indexer.sample import SAMPLE_DIR

    config = root / "policybot.toml"
    config.write_text("\n".join([
        "[[sources]]", 'name = "handbook"', 'type = "directory"',
        f"path = {json.dumps(str(SAMPLE_DIR))}", "[slack]", "run_scheduler = false",
        f"streaming = {json.dumps(streaming)}", ""]),
        encoding="utf-8")
    return config


def build_index(config: Path, home: Path) -> float:
    """``policybot sync`` once, in its own process; every run starts from a copy."""
    began = time.perf_counter()
    subprocess.run([*_command(), "--config", str(config), "sync"], check=True,
                   env=_env(POLICYBOT_HOME=str(home)), stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    rss_samples: list[int] = field(default_factory=list)

    def start(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = LISTENING.search(self.log.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"policybot serve did not start:\n{self.log.read_text()}")

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark (VmHWM) of the server process, else sampled RSS."""
        status = Path(f"/proc/{self.proc.pid}/status")
        if status.exists():
            found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
            if found:
                return int(found.group(1)) / 1024
        return max(self.rss_samples, default=0) / 2**20

    def sample_rss(self, stop: threading.Event) -> None:
        try:
            import psutil
        except ImportError:
            return
        proc = psutil.Process(self.proc.pid)
        while not stop.wait(0.1):
            try:
                self.rss_samples.append(proc.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> None:
        _support()  # puts the repository root on the path
        from tests.processes import stop_process

        stop_process(self.proc)


def start_server(config: Path, home: Path, api_url: str, workers: int, threads: int,
                 log: Path) -> Server:
    env = _env(POLICYBOT_HOME=str(home), SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
               POLICYBOT_SLACK_API_URL=api_url, POLICYBOT_SLACK__WORKERS=str(workers),
               POLICYBOT_SLACK__RATE_LIMIT="100000")
    with log.open("wb") as out:
        proc = subprocess.Popen([*_command(), "--config", str(config), "serve", "--http",
                                 "--host", "127.0.0.1", "--port", "0",
                                 "--threads", str(threads)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, log)
    server.start()
    return server


@dataclass
class Event:
    index: int
    question: str
    ts: str
    body: bytes
    ctype: str
    ack_s: float = 0.0
    status: int = 0
    outcome: str = ""
    answer_s: float | None = None


def make_events(texts: list[str], n: int, run: int, offset: int) -> list[Event]:
    _, app_mention, event_body, _ = _support()
    events = []
    for i in range(n):
        ts = f"{1700000000 + run * 100_000 + offset + i}.000100"
        user = f"UBENCH{run}{offset + i:05d}"  # one user per question: no rate limit
        body, ctype = event_body(app_mention(f"<@UBOT> {texts[i % len(texts)]}", user,
                                             CHANNEL, ts), f"EvBENCH{run}x{offset + i:05d}")
        events.append(Event(i, texts[i % len(texts)], ts, body, ctype))
    return events


def send(conn: http.client.HTTPConnection, event: Event, retry: int | None = None) -> float:
    """POST one signed event (signed now, as Slack signs each delivery); the send time."""
    *_, signed = _support()
    headers = signed(SECRET, event.body, event.ctype, retry_num=retry)
    began = time.monotonic()
    conn.request("POST", "/slack/events", body=event.body, headers=headers)
    response = conn.getresponse()
    response.read()
    event.status, event.ack_s = response.status, time.monotonic() - began
    return began


def ask(conn: http.client.HTTPConnection, slack: Any, event: Event, timeout: float) -> None:
    began = send(conn, event)
    event.outcome, arrived = slack.outcome(event.ts, timeout)
    event.answer_s = arrived - began if arrived is not None else None


def send_load(port: int, standin_url: str, load: list[Event], senders: int) -> float:
    """Send ``load`` from ``senders`` concurrent people in a separate process (see
    slack_senders.py); fills in each event's ack, outcome and time to answer."""
    from slack_senders import run_senders

    ctx = multiprocessing.get_context("spawn")
    go, ready, results = ctx.Event(), ctx.Queue(), ctx.Queue()
    outgoing = [(e.index, e.ts, e.body, e.ctype) for e in load]
    proc = ctx.Process(target=run_senders, args=(port, standin_url, SECRET, outgoing,
                                                 senders, go, ready, results, 300.0))
    proc.start()
    try:
        ready.get(timeout=120)  # the process is up and its threads are waiting
        began = time.monotonic()
        go.set()
        done = results.get(timeout=900)
        load_s = time.monotonic() - began
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    for index, status, ack_s, outcome, answer_s in done:
        event = load[index]
        event.status, event.ack_s, event.outcome, event.answer_s = (status, ack_s, outcome,
                                                                    answer_s)
    return load_s


def metrics(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def sample(text: str, name: str, labels: str = "") -> float:
    pattern = r"^" + re.escape(name + (f"{{{labels}}}" if labels else "")) + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def ms(seconds: list[float], q: float) -> float:
    return round(percentile(seconds, q) * 1000, 1)


def one_run(run: int, args: argparse.Namespace, config: Path, base_home: Path,
            tmp: Path, texts: list[str]) -> dict[str, Any]:
    home = tmp / f"run{run}"
    shutil.copytree(base_home, home)
    slack = observed_standin()
    slack.start()
    server = start_server(config, home, slack.url, args.workers, args.threads,
                          tmp / f"serve-{run}.log")
    stop_rss = threading.Event()
    rss = threading.Thread(target=server.sample_rss, args=(stop_rss,), daemon=True)
    rss.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for event in make_events(texts, WARMUP, run, 90_000):
            ask(conn, slack, event, 180)
        sequential = make_events(texts[::-1], SEQUENTIAL, run, 80_000)
        for event in sequential:
            ask(conn, slack, event, 120)
        conn.close()

        load = make_events(texts, args.events, run, 0)
        load1 = load_now()
        load_s = send_load(server.port, slack.url, load, args.senders)

        retried = load[:: max(1, len(load) // RETRIES)][:RETRIES]
        before = sample(metrics(server.port), "policybot_duplicate_deliveries_total")
        retry_acks: list[float] = []
        retry_status: list[int] = []

        def resend(event: Event) -> None:
            copy = Event(event.index, event.question, event.ts, event.body, event.ctype)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                send(conn, copy, retry=1)
            finally:
                conn.close()
            retry_acks.append(copy.ack_s)
            retry_status.append(copy.status)

        resenders = [threading.Thread(target=resend, args=(e,)) for e in retried]
        for t in resenders:
            t.start()
        for t in resenders:
            t.join()
        time.sleep(2.0)  # room for a (wrong) second placeholder or answer to arrive
        text = metrics(server.port)
        peak = server.peak_rss_mb()
    finally:
        stop_rss.set()
        server.stop()
        slack.stop()

    every = [*sequential, *load]
    with slack.seen:
        placeholders = {e.ts: slack.placeholders[e.ts] for e in every}
        methods = dict(slack.methods)
        answers = {e.ts: len(slack.answers.get(e.ts, [])) for e in every}
        notes = {e.ts: list(slack.notes.get(e.ts, [])) for e in every}
    acks = [e.ack_s for e in load if e.status]
    answered = [e.answer_s for e in load if e.answer_s is not None]
    seq_answered = [e.answer_s for e in sequential if e.answer_s is not None]
    outcomes = Counter(e.outcome for e in load)
    http_count = sample(text, "policybot_http_request_seconds_count", 'path="/slack/events"')
    http_fast = sample(text, "policybot_http_request_seconds_bucket",
                       'le="0.1",path="/slack/events"')
    answer_sum = sum(float(v) for v in re.findall(
        r"^policybot_answer_seconds_sum\{[^}]*\} (\S+)$", text, re.MULTILINE))
    answer_count = sum(float(v) for v in re.findall(
        r"^policybot_answer_seconds_count\{[^}]*\} (\S+)$", text, re.MULTILINE))
    return {
        "run": run, "load1_at_start": load1, "load1_at_end": load_now(),
        "load_wall_s": round(load_s, 2),
        "throughput_answers_per_s": round(len(answered) / load_s, 2),
        "ack_ms": {"n": len(acks), "median": ms(acks, 50), "p95": ms(acks, 95),
                   "p99": ms(acks, 99), "max": ms(acks, 100)},
        "ack_non_200": sum(e.status != 200 for e in load),
        "answer_s": {"n": len(answered),
                     "median": round(statistics.median(answered), 3) if answered else None,
                     "p95": round(percentile(answered, 95), 3) if answered else None},
        "sequential": {"ack_ms_median": ms([e.ack_s for e in sequential], 50),
                       "answer_s_median": round(statistics.median(seq_answered), 3)
                       if seq_answered else None,
                       "answer_s_p95": round(percentile(seq_answered, 95), 3)
                       if seq_answered else None},
        "outcomes": dict(outcomes),
        "notes": sum(len(v) for v in notes.values()),
        "events_without_exactly_one_placeholder": sum(n != 1 for n in placeholders.values()),
        "events_without_exactly_one_answer": sum(n != 1 for n in answers.values()),
        "retries": {"sent": len(retried), "status_200": retry_status.count(200),
                    "ack_ms_median": ms(retry_acks, 50) if retry_acks else None,
                    "counted_as_duplicates": int(sample(text,
                                                        "policybot_duplicate_deliveries_total")
                                                 - before)},
        "server": {"http_requests": int(http_count),
                   "acked_within_100ms_share": round(http_fast / http_count, 4)
                   if http_count else None,
                   "answer_seconds_mean_excl_queue": round(answer_sum / answer_count, 3)
                   if answer_count else None,
                   "errors": int(sample(text, "policybot_answer_errors_total"))},
        "peak_rss_mb": round(peak, 1),
        "web_api_calls": methods,
        "web_api_calls_per_answer": _per_answer(methods, sum(answers.values())),
    }


# Calls made at start-up, by the benchmark or for who-is-asking; not per answer.
NOT_PER_ANSWER = {"auth.test", "users.info", "bench.outcome", "apps.connections.open"}


def _per_answer(methods: dict[str, int], answered: int) -> dict[str, float]:
    """Web API calls per answer (warm-up and retries included), by method and in all."""
    if not answered:
        return {}
    per = {m: round(n / answered, 2) for m, n in sorted(methods.items())
           if m not in NOT_PER_ANSWER}
    per["total"] = round(sum(per.values()), 2)
    return per


def across(runs: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for r in runs:
        v: Any = r
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        if isinstance(v, int | float):
            values.append(v)
    return round(statistics.median(values), 3) if values else None


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ack_p99 = across(runs, "ack_ms", "p99")
    return {
        "ack_ms_median": across(runs, "ack_ms", "median"),
        "ack_ms_p99": ack_p99,
        "ack_p99_goal_ms": ACK_GOAL_S * 1000,
        "ack_p99_vs_slack_3s_deadline": round(ack_p99 / (SLACK_DEADLINE_S * 1000), 4)
        if ack_p99 is not None else None,
        "server_acked_within_100ms_share": across(runs, "server", "acked_within_100ms_share"),
        "answer_s_median": across(runs, "answer_s", "median"),
        "answer_s_p95": across(runs, "answer_s", "p95"),
        "sequential_answer_s_median": across(runs, "sequential", "answer_s_median"),
        "server_answer_s_mean_excl_queue": across(runs, "server",
                                                  "answer_seconds_mean_excl_queue"),
        "throughput_answers_per_s": across(runs, "throughput_answers_per_s"),
        "peak_rss_mb": across(runs, "peak_rss_mb"),
        "duplicates_answered": sum(r["events_without_exactly_one_answer"] for r in runs),
        "retries_counted_as_duplicates": sum(r["retries"]["counted_as_duplicates"]
                                             for r in runs),
        "retries_sent": sum(r["retries"]["sent"] for r in runs),
        "web_api_calls_per_answer": across(runs, "web_api_calls_per_answer", "total"),
    }


def report(r: dict[str, Any]) -> None:
    runs = r["runs"]
    print(f"\n{r['events']} mentions × {len(runs)} runs, {r['senders']} senders, "
          f"workers = {r['workers']}, waitress threads = {r['threads']}\n")
    print(table(["run", "load", "ack median / p99 / max ms", "server acks ≤ 100 ms",
                 "answer median / p95 s",
                 "1-at-a-time answer median s", "answers/s", "answered", "dups",
                 "retries deduped", "peak RSS MB"], [
        [x["run"], f"{x['load1_at_start']}–{x['load1_at_end']}",
         f"{x['ack_ms']['median']} / {x['ack_ms']['p99']} / {x['ack_ms']['max']}",
         f"{x['server']['acked_within_100ms_share']:.1%}",
         f"{x['answer_s']['median']} / {x['answer_s']['p95']}",
         x["sequential"]["answer_s_median"], x["throughput_answers_per_s"],
         x["outcomes"].get("answer", 0), x["events_without_exactly_one_answer"],
         f"{x['retries']['counted_as_duplicates']}/{x['retries']['sent']}",
         x["peak_rss_mb"]] for x in runs]))
    print("\n" + json.dumps(r["summary"], indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2,
                        help="slack.workers (about one per core); slack.queue (200) holds "
                        "the other waiting questions")
    parser.add_argument("--threads", type=int, default=16, help="waitress threads (default)")
    parser.add_argument("--streaming", choices=("off", "auto"), default="off",
                        help="slack.streaming: off = placeholder and chat.update; auto = "
                        "native chat.startStream/stopStream (issue 12)")
    args = parser.parse_args()
    setup_logging()
    texts = questions()
    with tempfile.TemporaryDirectory(prefix="policybot-bench-slack-") as tmp_dir:
        tmp = Path(tmp_dir)
        config = write_config(tmp, args.streaming)
        sync_s = build_index(config, tmp / "base")
        runs = []
        for run in range(1, args.runs + 1):
            runs.append(one_run(run, args, config, tmp / "base", tmp, texts))
            print(f"run {run}: done", flush=True)
    r = {"streaming": args.streaming,
         "events": args.events, "senders": args.senders, "workers": args.workers,
         "threads": args.threads, "distinct_questions": len(texts),
         "index_sync_s": round(sync_s, 1), "runs": runs, "summary": summarise(runs)}
    name = "slack_load" if args.streaming == "off" else "slack_load_streaming"
    path = write_results(name, r)
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, RESULTS / f"{name}.json")
    report(r)
    print(f"\nraw results: {path} (and {RESULTS / (name + '.json')})")


if __name__ == "__main__":
    main()
