"""``policybot serve`` as it runs in production: a real subprocess, real HTTP, real waitress.

The other Slack tests call ``app.dispatch`` in-process; only a running server shows that
the command line wires secrets, the WSGI routes, signature checks, logging and the worker
pool together the way Slack needs: a 200 within Slack's 3 s before any answering, one
answer per event however often Slack re-delivers it, a 401 for anything unsigned or
replayed without its body in the log, and a start that fails at once on a bad secret.

The server answers over the sample handbook (the session's ``indexed_handbook`` home,
copied, so it starts without re-embedding) and talks to the Slack stand-in.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.slack import messages
from bot.slack.http import EVENTS_PATH
from tests.processes import stop_process
from tests.slack_fixtures import SECRET, TOKEN
from tests.slack_signing import (
    app_mention,
    event_body,
    event_envelope,
    signed,
    url_verification_body,
)
from tests.slack_standin import SlackStandIn
from tests.socket_standin import SocketModeStandIn
from tests.waiting import eventually

pytestmark = pytest.mark.slow
CHANNEL = "CSERVE"
ASKER = "UASKER"
APP_TOKEN = "xapp-1-A0TEST-1-policybotsockettoken"
START_S = 60.0  # listening; the model loads in the background after that
ANSWER_S = 90.0  # the first answer waits for the model and the answerer to load
LISTENING = re.compile(r"listening on http://[^\s:]+:(\d+)")


def _command() -> list[str]:
    """The installed ``policybot`` script next to this interpreter, else the same entry
    point through ``-c`` (bot.cli has no ``__main__``)."""
    script = Path(sys.executable).with_name("policybot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


def _env(**extra: str) -> dict[str, str]:
    """This environment without any PolicyBot or Slack setting of the developer's own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("POLICYBOT_", "SLACK_"))}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _home(root: Path, indexed: Path) -> Path:
    """A copy of the indexed sample-handbook home and its config; returns the config."""
    shutil.copytree(indexed / "home", root / "home")
    shutil.copytree(indexed / "docs", root / "docs")
    (root / "extra").mkdir()
    config = root / "policybot.toml"
    config.write_text("\n".join([
        f"home = {json.dumps(str(root / 'home'))}",
        "[[sources]]", 'name = "handbook"', 'type = "directory"',
        f"path = {json.dumps(str(root / 'docs'))}",
        "[[sources]]", 'name = "extra"', 'type = "directory"',
        f"path = {json.dumps(str(root / 'extra'))}",
        # the placeholder path: these tests are about serving, not how answers render
        "[slack]", "run_scheduler = false", "stream_interval_s = 0.2", 'streaming = "off"',
        ""]), encoding="utf-8")
    return config


@dataclass
class Server:
    """A running ``policybot serve`` and its combined stdout/stderr, kept in a file."""

    proc: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_listening(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            found = LISTENING.search(self.output())
            if found:
                self.url = f"http://127.0.0.1:{found.group(1)}"
                return
            if self.proc.poll() is not None:
                pytest.fail(f"policybot serve exited ({self.proc.returncode}):\n{self.output()}")
            time.sleep(0.05)
        pytest.fail(f"policybot serve did not listen within {START_S}s:\n{self.output()}")

    def stop(self) -> None:
        stop_process(self.proc)


def _start(args: list[str], config: Path, log: Path, **env: str) -> Server:
    out = log.open("wb")
    try:
        proc = subprocess.Popen([*_command(), "--config", str(config), "serve", *args],
                                env=_env(**env), stdout=out, stderr=subprocess.STDOUT,
                                cwd=config.parent)
    finally:
        out.close()  # the child holds its own descriptor
    server = Server(proc, log)
    try:
        server.wait_listening()
    except BaseException:
        server.stop()
        raise
    return server


def _eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    return eventually(check, what, timeout)


@pytest.fixture(scope="module")
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as slack:
        yield slack


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, indexed_handbook: Path,
           standin: SlackStandIn) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve-http")
    served = _start(["--http", "--host", "127.0.0.1", "--port", "0", "--threads", "8"],
                    _home(root, indexed_handbook), root / "serve.log",
                    SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                    POLICYBOT_SLACK_API_URL=standin.url)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def _post_event(http: httpx.Client, body: bytes, ctype: str, **sign: Any) -> httpx.Response:
    return http.post(EVENTS_PATH, content=body, headers=signed(SECRET, body, ctype, **sign))


def _counter(metrics: str, name: str, labels: str = "") -> float:
    """A sample's value from the Prometheus text format; 0 when absent."""
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)"
    found = re.search(r"^" + pattern + "$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@dataclass
class Asked:
    body: bytes
    ctype: str
    ts: str
    ack_s: float
    status: int
    placeholder: Any
    final: Any


def _answered(standin: SlackStandIn, channel: str, ts: str) -> tuple[Any, Any]:
    """The placeholder posted in the thread ``ts`` and the update that replaced it."""
    (placeholder,) = standin.wait_for(
        "chat.postMessage", timeout=ANSWER_S,
        where=lambda c: c.params.get("channel") == channel and c.params.get("thread_ts") == ts)
    posted_ts = placeholder.response["ts"]
    finals = standin.wait_for(
        "chat.update", timeout=ANSWER_S,
        where=lambda c: c.params.get("ts") == posted_ts
        and c.params.get("text") != messages.WORKING)
    return placeholder, finals[-1]


@pytest.fixture(scope="module")
def asked(http: httpx.Client, standin: SlackStandIn) -> Asked:
    """One question asked by mention over HTTP, acknowledged and answered."""
    ts = "1700000500.000100"
    body, ctype = event_body(app_mention("<@UBOT> How many days of annual leave do I get?",
                                         ASKER, CHANNEL, ts), "EvSERVE0001")
    began = time.perf_counter()
    response = _post_event(http, body, ctype)
    ack_s = time.perf_counter() - began
    placeholder, final = _answered(standin, CHANNEL, ts)
    return Asked(body, ctype, ts, ack_s, response.status_code, placeholder, final)


def test_starting_serve_logs_no_warning(server: Server) -> None:
    """Bolt warned "As you gave `client` as well, `token` will be unused" at every start
    (SLACK_BOT_TOKEN set, as in every deployment), which reads like a misconfiguration."""
    output = server.output()
    started = output[:LISTENING.search(output).end()]  # type: ignore[union-attr]
    assert " INFO " in started  # logging is on at INFO, so a warning would show
    warnings = [line for line in started.splitlines()
                if re.search(r" (WARNING|ERROR|CRITICAL) ", line)]
    assert warnings == [], started
    assert "token` will be unused" not in output


def test_healthz_reports_the_database_and_the_index(http: httpx.Client) -> None:
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "state_db": "ok", "index": "ok"}
    assert http.get("/nowhere").status_code == 404


def test_url_verification_challenge_is_answered(http: httpx.Client) -> None:
    body, ctype = url_verification_body("challenge-7f3a")
    response = _post_event(http, body, ctype)
    assert response.status_code == 200
    assert response.json() == {"challenge": "challenge-7f3a"}


def test_mention_is_acked_at_once_and_answered_in_its_thread(asked: Asked) -> None:
    assert asked.status == 200
    assert asked.ack_s < 3.0, f"ack took {asked.ack_s:.2f}s; Slack retries after 3s"
    assert asked.placeholder.params["text"] == messages.WORKING
    assert asked.final.params["channel"] == CHANNEL
    assert "25" in asked.final.params["text"]  # the handbook grants 25 days


def test_a_retried_delivery_is_acked_but_never_answered_again(
        http: httpx.Client, standin: SlackStandIn, asked: Asked) -> None:
    before = _counter(http.get("/metrics").text, "policybot_duplicate_deliveries_total")
    response = _post_event(http, asked.body, asked.ctype, retry_num=1)
    assert response.status_code == 200
    # the dedupe claim is taken by the worker, after the ack. The claim is the Ask's
    # first step: once the retry is counted as a duplicate it has been handled (nothing
    # runs after a refused claim), so what Slack received by then is all it will get.
    _eventually(lambda: _counter(http.get("/metrics").text,
                                 "policybot_duplicate_deliveries_total") >= before + 1,
                10, "the retry to be counted as a duplicate")
    after = _counter(http.get("/metrics").text, "policybot_duplicate_deliveries_total")
    assert after == before + 1
    in_thread = [c for c in standin.calls_to("chat.postMessage")
                 if c.params.get("thread_ts") == asked.ts]
    assert len(in_thread) == 1
    answers = [c for c in standin.calls_to("chat.update")
               if c.params.get("ts") == asked.placeholder.response["ts"]
               and c.params.get("text") != messages.WORKING]
    assert len(answers) == 1


@pytest.mark.parametrize("forgery", ["wrong secret", "stale timestamp", "unsigned"])
def test_forged_or_replayed_requests_get_401_and_stay_out_of_the_log(
        http: httpx.Client, server: Server, standin: SlackStandIn, forgery: str) -> None:
    marker = f"forged-{uuid.uuid4().hex}"
    ts = f"17000009{len(forgery):02d}.000100"
    body, ctype = event_body(app_mention(f"<@UBOT> {marker}", ASKER, CHANNEL, ts),
                             f"Ev{marker}")
    if forgery == "wrong secret":
        headers = signed("0123456789abcdef0123456789abcdef", body, ctype)
    elif forgery == "stale timestamp":
        headers = signed(SECRET, body, ctype, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = {"Content-Type": ctype}
    response = http.post(EVENTS_PATH, content=body, headers=headers)
    assert response.status_code == 401
    _eventually(lambda: server.output().count("rejected a request") >= 1, 5,
                "the rejection to be logged")
    assert marker not in server.output()
    assert not [c for c in standin.calls if c.params.get("thread_ts") == ts]


def _raw_post(server: Server, head: bytes, body: bytes = b"") -> tuple[bytes, float]:
    """One HTTP/1.1 request over a plain socket: what came back, and how soon."""
    port = int(server.url.rsplit(":", 1)[1])
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head + body)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply, time.perf_counter() - began


def test_an_unsigned_body_over_1_mib_is_refused_before_it_is_read(server: Server) -> None:
    """The headers alone announce 2 MiB and no body byte is sent: a server that read the
    body before deciding would wait (the socket times out); waitress answers 413 at once."""
    from bot.slack.http import MAX_BODY_BYTES

    head = (f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {2 * MAX_BODY_BYTES}\r\n"
            "\r\n").encode()
    reply, took = _raw_post(server, head)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert took < 5
    chunked = (f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               ).encode()
    piece = b"x" * (256 * 1024)
    body = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") * 5  # 1.25 MiB, no end
    reply, _ = _raw_post(server, chunked, body)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    body, ctype = url_verification_body("still-served")  # a normal request still works
    ok, _ = _raw_post(server, (f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                               + "".join(f"{k}: {v}\r\n" for k, v in
                                         signed(SECRET, body, ctype).items()
                                         if k != "Content-Type")
                               + "\r\n").encode(), body)
    assert ok.startswith(b"HTTP/1.1 200"), ok[:200]


def test_metrics_count_questions_answers_and_ack_latency(http: httpx.Client,
                                                          asked: Asked) -> None:
    def answered() -> str:
        text = http.get("/metrics").text
        return text if "policybot_answers_total{" in text else ""

    metrics = _eventually(answered, 10, "the answer to be counted")  # counted after posting
    assert _counter(metrics, "policybot_questions_total", 'surface="mention"') >= 1
    assert sum(float(v) for v in re.findall(r"^policybot_answers_total\{[^}]*\} (\S+)$",
                                            metrics, re.MULTILINE)) >= 1
    assert _counter(metrics, "policybot_http_request_seconds_count",
                    f'path="{EVENTS_PATH}"') >= 1
    assert f'policybot_http_request_seconds_bucket{{le="0.1",path="{EVENTS_PATH}"}}' in metrics
    assert "policybot_answer_seconds_bucket" in metrics
    response = http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")


@pytest.mark.parametrize(("missing", "env"), [
    ("SLACK_SIGNING_SECRET", {"SLACK_BOT_TOKEN": TOKEN}),
    ("SLACK_BOT_TOKEN", {"SLACK_BOT_TOKEN": "xoxb-your-bot-token",
                         "SLACK_SIGNING_SECRET": SECRET}),
])
def test_serve_refuses_to_start_on_a_missing_or_placeholder_secret(
        tmp_path: Path, missing: str, env: dict[str, str]) -> None:
    began = time.monotonic()
    done = subprocess.run([*_command(), "serve", "--http", "--port", "0"],
                          env=_env(POLICYBOT_HOME=str(tmp_path / "home"), **env),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode != 0
    assert missing in done.stderr
    assert "listening" not in done.stderr + done.stdout
    assert time.monotonic() - began < 30  # failed on the secret, before loading anything
    # the value itself is never echoed
    assert "xoxb-your-bot-token" not in done.stderr


def test_socket_mode_acks_an_event_and_answers_it(tmp_path: Path,
                                                  indexed_handbook: Path) -> None:
    with SocketModeStandIn() as wss, SlackStandIn(socket=wss) as slack:
        served = _start(["--socket", "--host", "127.0.0.1", "--port", str(_free_port())],
                        _home(tmp_path, indexed_handbook), tmp_path / "socket.log",
                        SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
                        POLICYBOT_SLACK_API_URL=slack.url)
        try:
            wss.wait_for_connection(timeout=START_S)
            opened = slack.calls_to("apps.connections.open")
            assert opened and opened[0].token == APP_TOKEN
            ts = "1700000700.000100"
            event = app_mention("<@UBOT> How many days of annual leave do I get?",
                                ASKER, CHANNEL, ts)
            envelope_id = wss.send_envelope("events_api",
                                            event_envelope(event, "EvSOCKET0001"))
            assert wss.wait_for_ack(envelope_id, timeout=10)["envelope_id"] == envelope_id
            _, final = _answered(slack, CHANNEL, ts)
            assert "25" in final.params["text"]
            with httpx.Client(base_url=served.url, timeout=10) as probe:  # probes still served
                assert probe.get("/healthz").status_code == 200
                assert probe.post(EVENTS_PATH, content=b"{}").status_code == 404
        finally:
            served.stop()  # the client first: a closed server would make it reconnect


def test_sigterm_finishes_the_questions_already_acknowledged(tmp_path: Path,
                                                              indexed_handbook: Path) -> None:
    """Slack never re-sends an acked event, so a stop (docker stop, a rollout) must not
    drop it: the answer in progress is still posted, then the process exits cleanly."""
    with SlackStandIn() as slack:
        served = _start(["--http", "--host", "127.0.0.1", "--port", "0"],
                        _home(tmp_path, indexed_handbook), tmp_path / "term.log",
                        SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                        POLICYBOT_SLACK_API_URL=slack.url)
        try:
            slack.slow("chat.postMessage", 2.0, times=1)  # keep the answer in flight
            ts = "1700000800.000100"
            body, ctype = event_body(app_mention("<@UBOT> How many days of annual leave do I get?",
                                                 ASKER, CHANNEL, ts), "EvSERVETERM")
            with httpx.Client(base_url=served.url, timeout=10) as http:
                assert _post_event(http, body, ctype).status_code == 200
            served.proc.send_signal(signal.SIGTERM)
            assert served.proc.wait(timeout=60) == 0, served.output()
            _, final = _answered(slack, CHANNEL, ts)
            assert "25" in final.params["text"]
        finally:
            served.stop()
