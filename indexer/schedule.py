"""Schedules as admins write them: a crontab line or an interval such as ``30m``."""

from __future__ import annotations

import re

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_INTERVAL = re.compile(r"^\s*(?:every\s+)?(\d+)\s*(s|m|h|d)\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_schedule(text: str) -> BaseTrigger:
    """A trigger for ``text``; ValueError with the accepted forms when it is neither."""
    m = _INTERVAL.match(text)
    if m:
        amount = int(m.group(1))
        if amount <= 0:
            raise ValueError("an interval must be positive")
        return IntervalTrigger(**{_UNITS[m.group(2).lower()]: amount})
    if len(text.split()) == 5:
        try:
            return CronTrigger.from_crontab(text, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron expression {text!r}: {exc}") from exc
    raise ValueError(f"schedule {text!r} is neither an interval like '30m', '6h', '1d' "
                     "nor a 5-field cron line like '0 6 * * 1-5'")
