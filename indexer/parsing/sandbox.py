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
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.cleaning import TemplateCleaner

log = logging.getLogger(__name__)
_HEADER = struct.Struct("!Q")
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


class ParseWorker:
    """A child process that parses documents one at a time under fixed limits."""

    def __init__(self, memory_mb: int, timeout_s: float) -> None:
        self.memory_mb, self.timeout_s = memory_mb, timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
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

    def close(self) -> None:
        """Stop the worker (it exits by itself when its input closes)."""
        with self._lock:
            self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        proc.kill()
        proc.wait()

    def parse(self, raw: RawDocument, cleaner: TemplateCleaner | None) -> ParsedDocument:
        """The parsed document, or ParseError (including 'over budget') for this one file."""
        request = pickle.dumps((raw, cleaner), protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            try:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(_HEADER.pack(len(request)) + request)
                proc.stdin.flush()
                reply = self._receive(proc.stdout.fileno(), time.monotonic() + self.timeout_s)
            except TimeoutError:
                self._kill()
                raise ParseError(f"parsing took longer than {self.timeout_s:g}s; skipped "
                                 "(parsing.timeout_s)") from None
            except (OSError, EOFError):
                self._kill()
                raise ParseError(f"the parser ran out of its {self.memory_mb} MiB memory "
                                 "budget or crashed; skipped (parsing.memory_mb)") from None
        try:
            status, value = _ResultUnpickler(io.BytesIO(reply)).load()
        except Exception as exc:
            self.close()
            raise ParseError(f"parse worker sent an unreadable result: {exc}") from exc
        if status == "ok" and isinstance(value, ParsedDocument):
            return value
        raise ParseError(str(value))

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


def parse_isolated(raw: RawDocument, cleaner: TemplateCleaner | None,
                   settings: Any) -> ParsedDocument:
    """Parse ``raw`` under the ``[parsing]`` budget, in the worker unless isolation is off."""
    if not settings.isolate:
        from indexer.parsing import parse_document

        return parse_document(raw, cleaner)
    return worker_for(settings.memory_mb, settings.timeout_s).parse(raw, cleaner)
