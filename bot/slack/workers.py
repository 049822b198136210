"""The bounded pool that prepares answers, so listeners ack at once and the host is not
swamped: at most ``workers`` answers in progress and ``queue`` waiting."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class Workers:
    def __init__(self, workers: int, queue: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self._slots = threading.BoundedSemaphore(workers + (queue if queue is not None
                                                            else workers * 8))
        self._pending = 0
        self._submitted = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        if not self._slots.acquire(blocking=False):
            raise Busy()
        with self._idle:
            self._pending += 1
            self._submitted += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:
                log.exception("background job %s failed", getattr(fn, "__name__", fn))
                raise
            finally:
                self._slots.release()
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

        return self._pool.submit(run)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once nothing is queued or running (a clean shutdown, tests, benchmarks)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    @property
    def submitted(self) -> int:
        """Jobs ever accepted; lets :func:`drain` see a job that started another."""
        with self._idle:
            return self._submitted

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def drain(pools: Sequence[Workers], timeout: float) -> bool:
    """Wait until every pool is idle at once. A job in one pool may hand work to another
    (a shared answer is asked again by the answer pool), so waiting on each pool in turn
    is not enough: repeat until a whole pass starts no new job."""
    deadline = time.monotonic() + timeout
    while True:
        before = [p.submitted for p in pools]
        for pool in pools:
            if not pool.wait_idle(max(0.0, deadline - time.monotonic())):
                return False
        if [p.submitted for p in pools] == before:
            return True
