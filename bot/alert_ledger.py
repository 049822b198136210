"""The record of stale-answer alerts: claimed before posting, marked once Slack took them.

An alert is claimed before it is posted, so that two replicas (or a restart) never announce
a change twice. A post that Slack refused is marked failed and retried by a later pass; a
post whose fate is unknown (the process died mid-call) is never retried, because it may
have been posted: at most once beats twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.history_tables import stale_alerts
from indexer.state import utcnow

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Alert:
    """One (answer, document, change) to announce; ``change`` is the new version or
    "deleted"; ``claimed_at`` is when the change was first seen."""

    answer_id: str
    doc_id: str
    change: str
    claimed_at: datetime
    attempts: int = 1


class AlertLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, answer_id: str, doc_id: str, change: str) -> Alert | None:
        """The alert, the first time this change is seen for this answer; None after."""
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(stale_alerts).values(
                    answer_id=answer_id, doc_id=doc_id, change=change, claimed_at=now,
                    attempts=1))
        except IntegrityError:
            return None
        return Alert(answer_id, doc_id, change, now)

    def failed(self, max_attempts: int = MAX_ATTEMPTS) -> list[Alert]:
        """Alerts Slack refused that still have attempts left, oldest first."""
        c = stale_alerts.c
        query = (select(c.answer_id, c.doc_id, c.change, c.claimed_at, c.attempts)
                 .where(and_(c.sent_at.is_(None), c.last_error.is_not(None),
                             c.attempts < max_attempts))
                 .order_by(c.claimed_at))
        with self.engine.connect() as conn:
            return [Alert(r.answer_id, r.doc_id, r.change, _aware(r.claimed_at), r.attempts)
                    for r in conn.execute(query)]

    def reclaim(self, alert: Alert) -> Alert | None:
        """Take a failed alert for another attempt; None when another process took it."""
        with self.engine.begin() as conn:
            taken = conn.execute(update(stale_alerts).where(
                _key(alert), stale_alerts.c.sent_at.is_(None),
                stale_alerts.c.last_error.is_not(None),
                stale_alerts.c.attempts == alert.attempts)
                .values(attempts=alert.attempts + 1, last_error=None)).rowcount
        if taken != 1:
            return None
        return Alert(alert.answer_id, alert.doc_id, alert.change, alert.claimed_at,
                     alert.attempts + 1)

    def sent(self, alerts: list[Alert]) -> None:
        self._mark(alerts, sent_at=utcnow())

    def refused(self, alerts: list[Alert], error: str, retry: bool = True) -> None:
        """Slack said no: retried by a later pass unless ``retry`` is False (the channel is
        gone, say), which spends every attempt."""
        self._mark(alerts, last_error=error[:200],
                   **({} if retry else {"attempts": MAX_ATTEMPTS}))

    def _mark(self, alerts: list[Alert], **values: object) -> None:
        with self.engine.begin() as conn:
            for alert in alerts:
                conn.execute(update(stale_alerts).where(_key(alert)).values(**values))


def _key(alert: Alert) -> object:
    c = stale_alerts.c
    return and_(c.answer_id == alert.answer_id, c.doc_id == alert.doc_id,
                c.change == alert.change)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite drops the zone
