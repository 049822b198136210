"""A local Socket Mode server that stands in for Slack's ``wss-primary.slack.com``.

PolicyBot can run over Socket Mode (``slack_bolt.adapter.socket_mode.SocketModeHandler``,
which uses slack_sdk's builtin ``SocketModeClient``). To test that path without Slack we
need a WebSocket server that speaks exactly what that client expects: an RFC 6455
handshake, unmasked server frames, a ``hello`` message on connect, pongs that echo the
client's ping payload, and envelopes that the client acknowledges with
``{"envelope_id": ...}``. This module is that server, on the standard library only.

Wire it to :class:`tests.slack_standin.SlackStandIn` (``SlackStandIn(socket=server)``)
so that ``apps.connections.open`` hands out a ``ws://127.0.0.1:PORT/link/?ticket=...``
URL. The builtin client connects over plain TCP to any port other than 443, whatever
the URL scheme, so no TLS is needed.

Teardown order matters: close the Socket Mode client first, then this server. If this
server goes first, its close frame makes a client with auto-reconnect enabled call
``apps.connections.open`` again and try to reconnect.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


def accept_key(sec_websocket_key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a client's key (RFC 6455, section 4.2.2)."""
    digest = hashlib.sha1(sec_websocket_key.strip().encode("ascii") + _GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One unmasked frame, as a server must send it (the builtin client cannot unmask)."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size <= 125:
        header = struct.pack("!BB", first, size)
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def _take_frame(buf: bytearray) -> tuple[bool, int, bytes] | None:
    """Remove and return one complete frame ``(fin, opcode, payload)`` from ``buf``.

    Returns None while the frame is still incomplete, so a reader with a socket timeout
    can keep partial data between polls instead of losing it.
    """
    if len(buf) < 2:
        return None
    fin = bool(buf[0] & 0x80)
    opcode = buf[0] & 0x0F
    masked = bool(buf[1] & 0x80)
    size = buf[1] & 0x7F
    pos = 2
    if size == 126:
        if len(buf) < 4:
            return None
        (size,) = struct.unpack("!H", bytes(buf[2:4]))
        pos = 4
    elif size == 127:
        if len(buf) < 10:
            return None
        (size,) = struct.unpack("!Q", bytes(buf[2:10]))
        pos = 10
    mask = b""
    if masked:
        if len(buf) < pos + 4:
            return None
        mask = bytes(buf[pos : pos + 4])
        pos += 4
    if len(buf) < pos + size:
        return None
    payload = bytes(buf[pos : pos + size])
    del buf[: pos + size]
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload


@dataclass
class SocketConnection:
    """One accepted WebSocket connection and what the client sent over it."""

    sock: socket.socket
    path: str
    headers: dict[str, str]
    connected_at: float = field(default_factory=time.monotonic)
    closed: bool = False
    close_code: int | None = None
    pings_received: int = 0
    pongs_received: int = 0
    pending: bytearray = field(default_factory=bytearray, repr=False)
    send_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ticket(self) -> str | None:
        """The ``ticket`` query parameter, to tell which ``apps.connections.open`` URL was used."""
        values = parse_qs(urlsplit(self.path).query).get("ticket")
        return values[0] if values else None

    def send_frame(self, opcode: int, payload: bytes) -> None:
        """Send one frame; a connection the client already dropped is marked closed."""
        with self.send_lock:
            if self.closed:
                return
            try:
                self.sock.sendall(encode_frame(opcode, payload))
            except OSError:
                self.closed = True


class SocketModeStandIn:
    """A Socket Mode WebSocket server on 127.0.0.1 with a free port.

    Use as ``with SocketModeStandIn() as server:`` or ``start()``/``stop()``.
    ``ping_interval_s`` makes the server ping each client periodically, as Slack does;
    besides realism this keeps the builtin client's blocking ``recv`` short, so that
    ``SocketModeClient.close()`` does not wait out the client's 3 s socket timeout.
    """

    def __init__(
        self,
        app_id: str = "A0TEST",
        *,
        send_hello: bool = True,
        ping_interval_s: float | None = 0.2,
    ) -> None:
        self.app_id = app_id
        self.send_hello = send_hello
        self.ping_interval_s = ping_interval_s
        self.connections: list[SocketConnection] = []
        self.received: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.tickets: list[str] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SocketModeStandIn:
        """Listen on a free loopback port and accept connections on a daemon thread."""
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.05)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._stop.clear()
        self._spawn(self._accept_loop, "socket-standin-accept")
        return self

    def stop(self) -> None:
        """Close every connection with 1001 (going away), stop listening, join all threads."""
        self._stop.set()
        with self._cond:
            connections = list(self.connections)
        for conn in connections:
            self._close(conn, 1001, "going away")
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._threads.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> SocketModeStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- URLs --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``ws://127.0.0.1:PORT/link/``; with no path the client would send ``GET ?query``."""
        return f"ws://127.0.0.1:{self.port}/link/"

    def new_url(self) -> str:
        """A fresh URL with its own ticket, as each ``apps.connections.open`` call returns."""
        ticket = uuid.uuid4().hex
        with self._cond:
            self.tickets.append(ticket)
        return f"{self.base_url}?ticket={ticket}&app_id={self.app_id}"

    # -- sending -----------------------------------------------------------------------

    def wait_for_connection(self, count: int = 1, timeout: float = 5.0) -> SocketConnection:
        """Block until ``count`` connections were accepted; return the newest open one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                open_ = [c for c in self.connections if not c.closed]
                if len(self.connections) >= count and open_:
                    return open_[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} Socket Mode connection(s) within {timeout}s, "
                        f"got {len(self.connections)} ({len(open_)} open)"
                    )
                self._cond.wait(left)

    def send_json(self, message: dict[str, Any], timeout: float = 5.0) -> None:
        """Send one text frame to the newest open connection, waiting for one if needed."""
        conn = self.wait_for_connection(timeout=timeout)
        conn.send_frame(OP_TEXT, json.dumps(message).encode("utf-8"))

    def send_envelope(
        self,
        type: str,  # named as the field on the wire
        payload: dict[str, Any],
        envelope_id: str | None = None,
        accepts_response_payload: bool = False,
        *,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope (``events_api``, ``slash_commands``, ``interactive``); return its id.

        Slack adds ``retry_attempt``/``retry_reason`` to Events API envelopes; pass them to
        test how a redelivered event is handled.
        """
        envelope_id = envelope_id or str(uuid.uuid4())
        message: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = retry_reason or ""
        self.send_json(message, timeout=timeout)
        return envelope_id

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to reconnect, as Slack does before it rotates a connection."""
        self.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "policybot-standin"}}
        )

    def close_connections(self, code: int = 1001, reason: str = "going away") -> None:
        """Close every open connection with a close frame, to test reconnecting."""
        with self._cond:
            connections = [c for c in self.connections if not c.closed]
        for conn in connections:
            self._close(conn, code, reason)

    # -- receiving ---------------------------------------------------------------------

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's acknowledgement of ``envelope_id`` (with ``payload`` if it sent one)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self.acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no ack for envelope {envelope_id} within {timeout}s; "
                        f"acked: {sorted(self.acks)}; received: {self.received}"
                    )
                self._cond.wait(left)
            return self.acks[envelope_id]

    # -- internals ---------------------------------------------------------------------

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, "socket-standin-conn", sock)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(0.05)
        conn: SocketConnection | None = None
        try:
            conn = self._handshake(sock)
            if conn is not None:
                self._read_loop(conn)
        except OSError:
            pass  # the client went away mid-frame; nothing to answer
        finally:
            if conn is not None:
                with conn.send_lock:
                    conn.closed = True
            sock.close()
            with self._cond:
                self._cond.notify_all()

    def _handshake(self, sock: socket.socket) -> SocketConnection | None:
        raw = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in raw:
            if self._stop.is_set() or time.monotonic() > deadline:
                return None
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                return None
            raw += chunk
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key")
        if (
            len(parts) != 3
            or parts[0] != "GET"
            or headers.get("upgrade", "").lower() != "websocket"
            or not key
        ):
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return None
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode("ascii")
        )
        conn = SocketConnection(sock=sock, path=parts[1], headers=headers, pending=bytearray(rest))
        with self._cond:
            self.connections.append(conn)
            open_count = sum(1 for c in self.connections if not c.closed)
            self._cond.notify_all()
        if self.send_hello:
            hello = {
                "type": "hello",
                "num_connections": open_count,
                "debug_info": {
                    "host": "policybot-standin",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
            conn.send_frame(OP_TEXT, json.dumps(hello).encode("utf-8"))
        return conn

    def _read_loop(self, conn: SocketConnection) -> None:
        buf = conn.pending
        fragments: list[bytes] = []
        fragment_opcode = OP_TEXT
        next_ping = time.monotonic() + (self.ping_interval_s or 0)
        while not self._stop.is_set() and not conn.closed:
            frame = _take_frame(buf)
            if frame is None:
                if self.ping_interval_s and time.monotonic() >= next_ping:
                    conn.send_frame(OP_PING, f"standin:{time.time()}".encode())
                    next_ping = time.monotonic() + self.ping_interval_s
                try:
                    chunk = conn.sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buf += chunk
                continue
            fin, opcode, payload = frame
            if opcode == OP_PING:
                conn.pings_received += 1
                conn.send_frame(OP_PONG, payload)
            elif opcode == OP_PONG:
                conn.pongs_received += 1
            elif opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                conn.close_code = code
                conn.send_frame(OP_CLOSE, payload[:2])
                return
            else:
                if opcode != OP_CONTINUATION:
                    fragment_opcode = opcode
                fragments.append(payload)
                if fin:
                    data, fragments = b"".join(fragments), []
                    if fragment_opcode == OP_TEXT:
                        self._on_text(data.decode("utf-8"))

    def _on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = {"_raw": text}
        with self._cond:
            self.received.append(message)
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            if envelope_id:
                self.acks[envelope_id] = message
            self._cond.notify_all()

    def _close(self, conn: SocketConnection, code: int, reason: str) -> None:
        conn.send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"))
        with conn.send_lock:
            conn.closed = True
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)
        with self._cond:
            self._cond.notify_all()
