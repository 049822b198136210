"""App Home: index status, how to ask, and for admins a Re-index button per source and
the week's top five gaps in the handbook. A visit to the Messages tab (the same event) goes
to the agent view's greeting."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.slack.blocks_home import home_view
from bot.slack.listeners import agent
from bot.slack.services import Services
from bot.slack.workers import Busy
from indexer.status import index_status

log = logging.getLogger(__name__)


def register(app: App, svc: Services) -> None:
    @app.event("app_home_opened")
    def on_home(event: dict[str, Any]) -> None:
        if event.get("tab") == "messages":
            agent.messages_tab_opened(svc, event)
            return
        if event.get("tab", "home") != "home":
            return
        try:
            svc.workers.submit(publish_home, svc, event["user"])
        except Busy:
            log.info("App Home for %s not refreshed: the bot is busy", event["user"])


def publish_home(svc: Services, user_id: str) -> None:
    is_admin = svc.access.is_admin(user_id)
    view = home_view(index_status(svc.index), is_admin=is_admin,
                     gaps=week_gaps(svc) if is_admin else None)
    try:
        svc.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        svc.slack_error("views.publish", exc)


def week_gaps(svc: Services) -> list[Any] | None:
    """The last seven days' top five gaps; None (the section left out, the rest of the
    Home still published) when they cannot be worked out."""
    from bot.reports.weekly import top_gaps

    try:
        return top_gaps(svc.history.engine,
                        lambda texts: svc.index.embedder.embed(texts, progress=False))
    except Exception:
        log.exception("App Home: the week's gaps could not be computed")
        return None
