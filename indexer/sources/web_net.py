"""Where the web source's sockets may go, and how long one fetch may take in all.

Two guarantees live at the socket level because only there are they true:

* **Address policy.** A host name is checked *after* DNS resolution, at the address the
  socket actually connects to, so neither a redirect nor a DNS answer that changes
  between check and use (rebinding) can reach 127.0.0.1 or a cloud metadata service at
  169.254.169.254. Link-local, unspecified and multicast addresses are always refused;
  loopback and private ones only when the source sets ``allow_private_network``.
* **Wall-clock deadline.** Every connect, read and write gets the smaller of its own
  timeout and what is left of the current fetch's deadline, so a server that trickles
  one byte a second (which never trips a per-read timeout) is cut off on time.

The deadline is per thread, set by :func:`deadline` around one fetch and its redirects;
connections kept alive in the pool read it at use time, not at creation.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

_local = threading.local()


class AddressRefused(httpcore.ConnectError):
    """The host resolved to an address this source may not connect to."""


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Run one fetch (redirects included) under a wall-clock limit of ``seconds``."""
    end = time.monotonic() + seconds
    _local.deadline = end
    try:
        yield end
    finally:
        _local.deadline = None


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    end = getattr(_local, "deadline", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


def refusal(address: str, allow_private: bool) -> str | None:
    """Why a connection to ``address`` is refused, or None when it is allowed."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if ip.is_unspecified or ip.is_multicast:
        return "not a unicast address"
    if ip.is_global or allow_private:
        return None
    kind = "a loopback address" if ip.is_loopback else "a private or reserved address"
    return f"{kind}; set allow_private_network = true on the source to fetch from it"


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation stops at the current fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's plain TCP backend plus the address policy and the fetch deadline."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for *_, sockaddr in infos:  # every address must pass, or none is used
            reason = refusal(str(sockaddr[0]), self.allow_private)
            if reason:
                raise AddressRefused(f"{host} resolves to {sockaddr[0]}, {reason}")
        last: OSError | None = None
        for family, kind, proto, _, sockaddr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_clamp(timeout, httpcore.ConnectTimeout))
                if local_address:
                    sock.bind((local_address, 0))
                sock.connect(sockaddr)
            except TimeoutError as exc:
                sock.close()
                raise httpcore.ConnectTimeout(f"connecting to {host} timed out") from exc
            except OSError as exc:
                sock.close()
                last = exc
                continue
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _DeadlineStream(SyncStream(sock))
        raise httpcore.ConnectError(f"cannot connect to {host}: {last}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the web source")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def guarded_transport(allow_private: bool) -> httpx.HTTPTransport:
    """An httpx transport (no proxies from the environment) that connects only through
    :class:`GuardedBackend`; fails loudly if httpx's internals ever move."""
    transport = httpx.HTTPTransport(trust_env=False)
    pool = transport._pool
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("unsupported httpx/httpcore version: cannot guard connections")
    pool._network_backend = GuardedBackend(allow_private)
    return transport
