"""Waiting for a positive signal from another process or thread, with a deadline.

Tests wait for what they expect to happen and then assert counts, instead of sleeping a
fixed time and hoping; a timeout fails with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def eventually(check: Callable[[], Any], what: str, timeout: float) -> Any:
    """``check()``'s first truthy result, polled every 50 ms; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
