"""Parse each document in a separate, reused worker process with a memory and time budget.

A parser bomb that slips past the format checks (a PDF whose streams inflate, a
pathological HTML page) must cost at most that one document, never the process that
hosts the scheduler and the Slack bot. The worker runs under ``RLIMIT_AS`` (an
allocation past the budget fails inside the worker, or kills it) and each document
gets a wall-clock limit, after which the worker is killed and replaced.

One worker serves every document in turn, so the price is a pipe round trip and a
pickle of the bytes and the parsed result per document, not a process start. Results
are unpickled with an allow-list of the document classes, so even a worker subverted
by a hostile file cannot make the parent run code.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.cleaning import TemplateCleaner

log = logging.getLogger(__name__)
_HEADER = struct.Struct("!Q")
AHEAD = 4  # documents queued at the worker while the caller uses the last result
K = TypeVar("K")
Outcome = ParsedDocument | ParseError
STARTUP_TIMEOUT_S = 120.0  # importing the parsers; not part of any document's budget
_ALLOWED = {
    ("indexer.documents", "ParsedDocument"), ("indexer.documents", "Section"),
    ("indexer.documents", "Block"), ("datetime", "date"), ("datetime", "datetime"),
    ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "timezone"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
}


class _ResultUnpickler(pickle.Unpickler):
    """Only the classes a parse result is made of; anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"parse worker sent {module}.{name}")
        return super().find_class(module, name)


class _Feed:
    """Writes framed requests to one worker's stdin, in order, on its own thread, so the
    parent never blocks on a full pipe while the worker waits for its replies to be read."""

    def __init__(self, stdin: Any) -> None:
        self._stdin = stdin
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="parse-feed", daemon=True).start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._stdin.write(item)
                self._stdin.flush()
            except (OSError, ValueError):  # the worker was killed; its replies are moot
                return

    def put(self, request: bytes) -> None:
        self._queue.put(_HEADER.pack(len(request)) + request)

    def stop(self) -> None:
        self._queue.put(None)


class ParseWorker:
    """A child process that parses documents one at a time under fixed limits.

    :meth:`parse_many` keeps a few documents queued at the worker, so it parses the next
    one while the sync chunks and embeds the last: the isolation costs no idle hand-offs.
    """

    def __init__(self, memory_mb: int, timeout_s: float) -> None:
        self.memory_mb, self.timeout_s = memory_mb, timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._feed: _Feed | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        proc = subprocess.Popen([sys.executable, "-m", "indexer.parsing.worker",
                                 str(self.memory_mb)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env, close_fds=True)
        assert proc.stdout is not None
        try:  # the worker says "ready" once its parsers are imported and its limit set
            self._receive(proc.stdout.fileno(), time.monotonic() + STARTUP_TIMEOUT_S)
        except (TimeoutError, EOFError, OSError) as exc:
            proc.kill()
            proc.wait()
            raise ParseError("the parse worker did not start") from exc
        log.debug("parse worker %d started (%d MiB, %gs per document)", proc.pid,
                  self.memory_mb, self.timeout_s)
        return proc

    def _ensure(self) -> tuple[subprocess.Popen[bytes], _Feed]:
        if self._proc is None or self._proc.poll() is not None or self._feed is None:
            self._kill()
            self._proc = self._start()
            self._feed = _Feed(self._proc.stdin)
        return self._proc, self._feed

    def close(self) -> None:
        """Stop the worker (it exits by itself when its input closes)."""
        with self._lock:
            self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.stop()
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    def parse(self, raw: RawDocument, cleaner: TemplateCleaner | None) -> ParsedDocument:
        """The parsed document, or ParseError (including 'over budget') for this one file."""
        for _, _, outcome in self.parse_many([(None, raw)], cleaner):
            if isinstance(outcome, ParseError):
                raise outcome
            assert outcome is not None
            return outcome
        raise AssertionError("unreachable")

    def parse_many(self, items: Iterable[tuple[K, Any]], cleaner: TemplateCleaner | None,
                   ahead: int = AHEAD) -> Iterator[tuple[K, Any, Outcome | None]]:
        """For each ``(key, item)``: ``(key, item, parsed document or ParseError)`` when
        the item is a RawDocument, else ``(key, item, None)`` at once. Up to ``ahead``
        documents wait at the worker; each gets ``timeout_s`` from when it is awaited."""
        with self._lock:
            inflight: deque[tuple[K, RawDocument, bytes]] = deque()
            source, exhausted = iter(items), False
            try:
                while True:
                    while not exhausted and len(inflight) < ahead:
                        try:
                            key, item = next(source)
                        except StopIteration:
                            exhausted = True
                            break
                        if not isinstance(item, RawDocument):
                            yield key, item, None
                            continue
                        request = pickle.dumps((item, cleaner), protocol=pickle.HIGHEST_PROTOCOL)
                        inflight.append((key, item, request))
                        self._ensure()[1].put(request)
                    if not inflight:
                        return
                    key, raw, _ = inflight.popleft()
                    outcome = self._reply()
                    if self._proc is None and inflight:  # killed: queue the rest again
                        feed = self._ensure()[1]
                        for _, _, request in inflight:
                            feed.put(request)
                    yield key, raw, outcome
            finally:
                if inflight:  # abandoned midway: replies still due would desync the pipe
                    self._kill()

    def _reply(self) -> Outcome:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        try:
            reply = self._receive(proc.stdout.fileno(), time.monotonic() + self.timeout_s)
        except TimeoutError:
            self._kill()
            return ParseError(f"parsing took longer than {self.timeout_s:g}s; skipped "
                              "(parsing.timeout_s)")
        except (OSError, EOFError, ValueError):
            self._kill()
            return ParseError(f"the parser ran out of its {self.memory_mb} MiB memory "
                              "budget or crashed; skipped (parsing.memory_mb)")
        try:
            status, value = _ResultUnpickler(io.BytesIO(reply)).load()
        except Exception as exc:
            self._kill()
            return ParseError(f"parse worker sent an unreadable result: {exc}")
        if status == "ok" and isinstance(value, ParsedDocument):
            return value
        return ParseError(str(value))

    @staticmethod
    def _receive(fd: int, deadline: float) -> bytes:
        def read_exact(size: int) -> bytes:
            buf = bytearray()
            while len(buf) < size:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise TimeoutError
                part = os.read(fd, min(size - len(buf), 1 << 20))
                if not part:
                    raise EOFError
                buf += part
            return bytes(buf)

        (size,) = _HEADER.unpack(read_exact(_HEADER.size))
        return read_exact(size)


_workers: dict[tuple[int, float], ParseWorker] = {}
_workers_lock = threading.Lock()


def worker_for(memory_mb: int, timeout_s: float) -> ParseWorker:
    """The process-wide worker for these limits (started on first use)."""
    with _workers_lock:
        key = (memory_mb, timeout_s)
        if key not in _workers:
            _workers[key] = ParseWorker(memory_mb, timeout_s)
        return _workers[key]


def close_workers() -> None:
    """Stop every worker; the next parse starts a fresh one."""
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.close()


atexit.register(close_workers)


def parse_ahead(items: Iterable[tuple[K, Any]], cleaner: TemplateCleaner | None,
                settings: Any) -> Iterator[tuple[K, Any, Outcome | None]]:
    """:meth:`ParseWorker.parse_many` under the ``[parsing]`` budget; in-process (still
    one outcome per document) when isolation is off."""
    if settings.isolate:
        yield from worker_for(settings.memory_mb, settings.timeout_s).parse_many(items, cleaner)
        return
    from indexer.parsing import parse_document

    for key, item in items:
        if not isinstance(item, RawDocument):
            yield key, item, None
            continue
        try:
            outcome: Outcome = parse_document(item, cleaner)
        except ParseError as exc:
            outcome = exc
        yield key, item, outcome


def parse_isolated(raw: RawDocument, cleaner: TemplateCleaner | None,
                   settings: Any) -> ParsedDocument:
    """Parse ``raw`` under the ``[parsing]`` budget, in the worker unless isolation is off."""
    if not settings.isolate:
        from indexer.parsing import parse_document

        return parse_document(raw, cleaner)
    return worker_for(settings.memory_mb, settings.timeout_s).parse(raw, cleaner)
