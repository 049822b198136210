"""App Home: index status, how to ask, and (for admins) a Re-index button per source.
A visit to the Messages tab (the same event) goes to the agent view's greeting."""

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
    view = home_view(index_status(svc.index), is_admin=svc.access.is_admin(user_id))
    try:
        svc.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        svc.slack_error("views.publish", exc)
