"""The answer pools: bounded, and drained as a whole before a shutdown or an assertion."""

from __future__ import annotations

import threading
import time

import pytest

from bot.slack.workers import Busy, Workers, drain


def test_a_full_pool_refuses_instead_of_queueing_without_bound() -> None:
    gate = threading.Event()
    pool = Workers(1, queue=1)
    try:
        pool.submit(gate.wait)
        pool.submit(gate.wait)
        with pytest.raises(Busy):
            pool.submit(gate.wait)
        gate.set()
        assert pool.wait_idle(5)
        pool.submit(lambda: None)  # slots come back once the jobs are done
    finally:
        gate.set()
        pool.shutdown()


def test_drain_waits_for_work_one_pool_hands_to_another() -> None:
    """A shared answer is handed from the notes pool to the answer pool; waiting on each
    pool once, answers first, returned while the answer was still being written."""
    answers, notes = Workers(1), Workers(1)
    done: list[str] = []

    def answer() -> None:
        time.sleep(0.3)
        done.append("answer")

    def share() -> None:
        time.sleep(0.1)
        answers.submit(answer)

    try:
        notes.submit(share)
        assert drain((answers, notes), timeout=10)
        assert done == ["answer"]
    finally:
        answers.shutdown()
        notes.shutdown()


def test_drain_gives_up_at_its_timeout() -> None:
    gate = threading.Event()
    pool = Workers(1)
    try:
        pool.submit(gate.wait)
        started = time.monotonic()
        assert not drain((pool,), timeout=0.2)
        assert time.monotonic() - started < 2
    finally:
        gate.set()
        pool.shutdown()
