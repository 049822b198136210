"""Who PolicyBot greeted in its Messages tab, and with which suggested prompts.

Slack sends ``app_home_opened`` each time someone opens the app's Messages tab: a greeting
on every visit would be noise. The first visit is claimed in the state database (one row
per person, so replicas and restarts agree), the greeting is posted once, and the prompts
are set again only when the configured ones changed. At most once beats twice: a visit
whose greeting Slack refused is not retried.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.history_tables import agent_greetings
from indexer.state import utcnow


class Visit(Enum):
    """What a visit to the Messages tab calls for."""

    FIRST = "first"  # greet and set the prompts
    NEW_PROMPTS = "new_prompts"  # greeted before; the configured prompts changed since
    AGAIN = "again"  # nothing to do


class GreetingLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def visit(self, user_id: str, prompts_digest: str) -> Visit:
        """Record a visit by ``user_id`` with the prompts ``prompts_digest`` stands for.
        Two replicas handling visits at once agree: the insert succeeds for one only."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(agent_greetings).values(
                    user_id=user_id, prompts_digest=prompts_digest, greeted_at=utcnow()))
            return Visit.FIRST
        except IntegrityError:
            pass
        c = agent_greetings.c
        with self.engine.begin() as conn:
            changed = conn.execute(update(agent_greetings).where(
                c.user_id == user_id, c.prompts_digest != prompts_digest)
                .values(prompts_digest=prompts_digest)).rowcount
        return Visit.NEW_PROMPTS if changed else Visit.AGAIN
