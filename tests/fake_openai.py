"""A scripted OpenAI-compatible server on loopback, for failures a real server won't make.

Each request gets the next scripted :class:`Reply` (the last one repeats) and is
recorded, so tests can count retries and read the headers and JSON the client sent.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0  # seconds before the status line: a slow server
    ctype: str = "text/event-stream"
    truncate: bool = False  # promise more bytes than sent, then hang up: a broken stream
    event_delay: float = 0.0  # seconds between SSE events: a model generating in real time


def sse(*pieces: str, done: bool = True) -> bytes:
    """An SSE body of chat-completion chunks, one per piece, as vLLM sends them."""
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    out = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return (out + ("data: [DONE]\n\n" if done else "")).encode()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class FakeLLM:
    replies: list[Reply]
    base_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    events_sent: int = 0  # SSE events written by trickling replies (event_delay)
    hung_up: bool = False  # a trickling reply found the client gone (it closed the stream)

    def next_reply(self) -> Reply:
        return self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fake.requests.append(Recorded(self.command, self.path, dict(self.headers),
                                          json.loads(raw) if raw else None))
            reply = fake.next_reply()
            time.sleep(reply.delay)
            if reply.event_delay:
                self._trickle(reply)
                return
            with contextlib.suppress(OSError):  # the client may have given up already
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.ctype)
                extra = 100 if reply.truncate else 0
                self.send_header("Content-Length", str(len(reply.body) + extra))
                self.end_headers()
                self.wfile.write(reply.body)
                self.wfile.flush()

        def _trickle(self, reply: Reply) -> None:
            """Events one by one, no Content-Length: the body ends when the server closes."""
            self.close_connection = True
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.ctype)
                self.end_headers()
                for event in reply.body.split(b"\n\n"):
                    if event.strip():
                        self.wfile.write(event + b"\n\n")
                        self.wfile.flush()
                        fake.events_sent += 1
                        time.sleep(reply.event_delay)
            except OSError:  # the client closed the stream
                fake.hung_up = True

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

    return Handler


@contextlib.contextmanager
def fake_llm(*replies: Reply) -> Iterator[FakeLLM]:
    """Serve ``replies`` in order on a free loopback port; yields the recorder."""
    fake = FakeLLM(list(replies) or [Reply(body=sse("ok"))])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def hang_up_server() -> Iterator[tuple[str, list[int]]]:
    """Accepts each connection and closes it at once; yields (base_url, [connections])."""
    count = [0]
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            count[0] += 1
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1", count
    finally:
        stop.set()
        thread.join(2)
        sock.close()
