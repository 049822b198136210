"""Who may read what, and who may re-index.

Answers that others can read (channel messages and threads) use public documents only;
answers only the asker sees (ephemeral replies, DMs) also use the audiences the asker
belongs to. Membership comes from Slack user groups (cached) and explicit user IDs. Any
lookup failure counts as "not a member": access fails closed.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import AppSettings
from model.answerer import Asker

log = logging.getLogger(__name__)


class GroupMembers:
    """``usergroups.users.list`` with expiry: membership changes show up within ``ttl_s``."""

    def __init__(self, client: WebClient, ttl_s: float) -> None:
        self.client, self.ttl_s = client, ttl_s
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(group_id)
        if hit and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group_id)["users"])
        except SlackApiError as exc:
            log.warning("could not list user group %s (%s); treating it as empty",
                        group_id, exc.response.get("error"))
            return hit[1] if hit else frozenset()
        with self._lock:
            self._cache[group_id] = (now, users)
        return users


class Access:
    def __init__(self, settings: AppSettings, groups: GroupMembers) -> None:
        self.settings, self.groups = settings, groups

    def audiences(self, user_id: str) -> tuple[str, ...]:
        """The audiences ``user_id`` belongs to, for answers only they will see."""
        out = []
        for name, members in sorted(self.settings.slack.audiences.items()):
            if user_id in members.users or any(
                    user_id in self.groups.members(g) for g in members.usergroups):
                out.append(name)
        return tuple(out)

    def is_admin(self, user_id: str) -> bool:
        slack = self.settings.slack
        return user_id in slack.admins or bool(
            slack.admin_group and user_id in self.groups.members(slack.admin_group))

    def sources(self, channel_id: str | None) -> tuple[str, ...] | None:
        """The sources a channel may draw from; None means every source."""
        channel = self.settings.channel(channel_id) if channel_id else None
        if channel is None or channel.sources is None:
            return None
        return tuple(channel.sources)

    def asker(self, user_id: str, channel_id: str | None, private: bool) -> Asker:
        """``private``: only the asker will see the answer (ephemeral reply or DM)."""
        return Asker(audiences=self.audiences(user_id) if private else (),
                     sources=self.sources(channel_id), user_id=user_id)
