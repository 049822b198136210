"""The concurrent senders of ``slack_load.py``, in a process of their own.

Why a separate process: the Slack stand-in (which receives the bot's Web API calls) and the
senders used to share one Python process, so a sender whose 200 had already arrived could
wait for that process's GIL behind the stand-in's threads, and the wait was counted as the
server's ack latency. Here each sender only signs, sends and reads; it learns when its
answer arrived by asking the stand-in (``bench.outcome``, a method only the benchmark's
stand-in has), whose arrival times are on the same system-wide monotonic clock.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as MpEvent
from typing import Any
from urllib.parse import urlsplit

# (index, ts, body, content type) → (index, status, ack_s, outcome, answer_s)
Outgoing = tuple[int, str, bytes, str]
Result = tuple[int, int, float, str, float | None]


def run_senders(port: int, standin_url: str, secret: str, events: list[Outgoing],
                senders: int, go: MpEvent, ready: Queue, results: Queue,
                timeout: float) -> None:
    """Entry point of the sender process: ``senders`` threads, each a person who asks,
    waits for the answer and asks again. Puts one list of results on ``results``."""
    from tests.slack_signing import signed

    out: list[Result] = []
    lock = threading.Lock()

    def person(mine: list[Outgoing]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        go.wait()
        for index, ts, body, ctype in mine:
            headers = signed(secret, body, ctype)
            began = time.monotonic()
            try:
                conn.request("POST", "/slack/events", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:  # counted, not fatal
                with lock:
                    out.append((index, 0, 0.0, f"send failed: {type(exc).__name__}", None))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            ack = time.monotonic() - began
            outcome, arrived = _outcome(standin_url, ts, timeout)
            with lock:
                out.append((index, response.status, ack, outcome,
                            arrived - began if arrived is not None else None))
        conn.close()

    threads = [threading.Thread(target=person, args=(events[k::senders],))
               for k in range(senders)]
    for t in threads:
        t.start()
    ready.put(True)
    for t in threads:
        t.join()
    results.put(out)


def _outcome(standin_url: str, thread: str, timeout: float) -> tuple[str, float | None]:
    url = urlsplit(standin_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port,
                                      timeout=timeout + 30)
    try:
        conn.request("POST", f"{url.path}bench.outcome",
                     body=json.dumps({"thread": thread, "timeout": timeout}),
                     headers={"Content-Type": "application/json"})
        answer: dict[str, Any] = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    return str(answer["outcome"]), answer.get("arrived")
