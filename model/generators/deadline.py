"""A wall-clock deadline over a stream of answer pieces.

Per-read timeouts do not bound a generation: a server that sends one byte a second never
lets a read time out, and would hold a worker (and the asker) forever. Here the stream is
read in a helper thread and the caller waits on a queue for at most the time left, so the
caller is released at the deadline whatever the stream does. The helper thread then stops
at its next piece (or when its own read timeout fires) and closes the stream, which ends
the HTTP request.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from model.generators.base import GeneratorDeadline

log = logging.getLogger(__name__)

_PIECE, _ERROR, _END = "piece", "error", "end"


def within(pieces: Iterator[str], deadline_s: float, what: str) -> Iterator[str]:
    """Yield from ``pieces`` until ``deadline_s`` seconds have passed since the first
    ``next``; then raise :class:`GeneratorDeadline`. Errors of ``pieces`` are re-raised."""
    inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for piece in pieces:
                if stop.is_set():
                    break
                inbox.put((_PIECE, piece))
            else:
                inbox.put((_END, None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            inbox.put((_ERROR, exc))
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # ends the HTTP request if the caller gave up

    end = time.monotonic() + deadline_s
    threading.Thread(target=pump, name="generation", daemon=True).start()
    try:
        while True:
            try:
                kind, value = inbox.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                log.warning("%s generation passed its %.1fs deadline", what, deadline_s)
                raise GeneratorDeadline(f"{what} generation passed its {deadline_s:g}s "
                                        "deadline") from None
            if kind == _PIECE:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        stop.set()
