"""Skips Slack's retries and duplicate deliveries before any listener runs.

Slack re-sends an event it thinks we were slow on (``X-Slack-Retry-Num``) with the same
``event_id``; the id is claimed in the state database, so the answer is given once even
across restarts and replicas. The retry is still acknowledged, or Slack keeps retrying.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

from bot.slack.services import Services

log = logging.getLogger(__name__)


# Questions claim their event id together with their message id in one commit, in the
# answer worker after the ack (listeners/events.py); everything else is claimed here.
CLAIMED_BY_LISTENER = {"app_mention", "message"}


def event_key(body: dict[str, Any]) -> str | None:
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    return f"event:{event_id}" if event_id else None


def claim(svc: Services, keys: list[str]) -> bool:
    """True the first time these keys are seen (in one commit); False, counted and logged,
    for a retry or a duplicate delivery."""
    if keys and not svc.history.claim_event(*keys):
        svc.metrics.duplicates.inc()
        log.info("skipping %s: already handled (a retry or duplicate delivery)", keys[0])
        return False
    return True


def dedupe_middleware(svc: Services) -> Callable[..., Any]:
    def dedupe(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:  # noqa: A002
        key = event_key(body)
        if (body.get("event") or {}).get("type") in CLAIMED_BY_LISTENER:
            key = None
        if key and not claim(svc, [key]):
            return BoltResponse(status=200, body="")
        next()
        return None

    return dedupe
