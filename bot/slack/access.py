"""Who may read what, and who may re-index.

Answers that others can read (channel messages and threads) use public documents only;
answers only the asker sees (ephemeral replies, DMs) also use the audiences the asker
belongs to. Membership comes from Slack user groups (cached) and explicit user IDs.

Guests (``is_restricted``/``is_ultra_restricted``) and people from another organisation
(Slack Connect: ``users.info`` names another team) get no answers unless
``slack.allow_guests``, and never restricted documents even then.

Every lookup fails closed: a user group that can't be listed counts as empty once its last
good membership is older than ``membership_cache_s + membership_grace_s``; a user whose
``users.info`` fails (and has no recent good answer) is treated as a guest who may not ask.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import AppSettings
from bot.slack import messages
from model.answerer import Asker

log = logging.getLogger(__name__)
T = TypeVar("T")

# conversations.members: Slack recommends at most 200 a page; past MEMBER_PAGES pages
# (10,000 members) the answer is "not a member", and the cite is refused.
MEMBERS_PAGE = 200
MEMBER_PAGES = 50


class Expiring(Generic[T]):
    """Lookups kept for ``ttl_s``; when a refresh fails, the last good value is served
    for ``grace_s`` more (a Slack hiccup is not an outage), then ``fallback`` (closed)."""

    def __init__(self, ttl_s: float, grace_s: float, what: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.grace_s, self.what, self.clock = ttl_s, grace_s, what, clock
        self._cache: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, fetch: Callable[[str], T], fallback: T) -> T:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            value = fetch(key)
        except Exception as exc:  # noqa: BLE001 - any failure fails closed below
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            if hit and now - hit[0] < self.ttl_s + self.grace_s:
                log.warning("could not look up %s %s (%s); using the answer from %.0f s ago",
                            self.what, key, error, now - hit[0])
                return hit[1]
            log.warning("could not look up %s %s (%s); failing closed", self.what, key, error)
            return fallback
        with self._lock:
            self._cache[key] = (now, value)
        return value


class GroupMembers:
    """``usergroups.users.list`` with expiry: membership changes show up within ``ttl_s``,
    and a failed lookup serves the last good membership for at most ``grace_s`` more."""

    def __init__(self, client: WebClient, ttl_s: float, grace_s: float) -> None:
        self.client = client
        self.cache: Expiring[frozenset[str]] = Expiring(ttl_s, grace_s, "user group")

    def members(self, group_id: str) -> frozenset[str]:
        return self.cache.get(group_id, self._fetch, frozenset())

    def _fetch(self, group_id: str) -> frozenset[str]:
        return frozenset(self.client.usergroups_users_list(usergroup=group_id)["users"])


@dataclass(frozen=True)
class Standing:
    """What ``users.info`` says about a person, reduced to what access depends on."""

    kind: str  # member | guest | external | unknown (the lookup failed)

    @property
    def is_member(self) -> bool:
        return self.kind == "member"


UNKNOWN = Standing("unknown")


class People:
    """``users.info`` per user, cached like group membership; compares the user's team with
    the workspace's (``auth.test``) to tell Slack Connect users from employees."""

    def __init__(self, client: WebClient, ttl_s: float, grace_s: float) -> None:
        self.client = client
        self.cache: Expiring[Standing] = Expiring(ttl_s, grace_s, "user")
        self.team_id = ""
        self.enterprise_id = ""
        self._lock = threading.Lock()

    def set_workspace(self, auth: Any) -> None:
        """From an ``auth.test`` answer: the workspace (and Enterprise org) installed in."""
        self.team_id = str(auth.get("team_id") or "")
        self.enterprise_id = str(auth.get("enterprise_id") or "")

    def standing(self, user_id: str) -> Standing:
        return self.cache.get(user_id, self._fetch, UNKNOWN)

    def _fetch(self, user_id: str) -> Standing:
        with self._lock:
            if not self.team_id:
                self.set_workspace(self.client.auth_test())
        user = self.client.users_info(user=user_id)["user"]
        if user.get("is_restricted") or user.get("is_ultra_restricted"):
            return Standing("guest")
        org = (user.get("enterprise_user") or {}).get("enterprise_id") or ""
        same_org = bool(self.enterprise_id) and org == self.enterprise_id
        if user.get("is_stranger") or (user.get("team_id") != self.team_id and not same_org):
            return Standing("external")
        return Standing("member")


class Access:
    def __init__(self, settings: AppSettings, groups: GroupMembers,
                 people: People | None = None) -> None:
        self.settings, self.groups = settings, groups
        slack = settings.slack
        self.people = people or People(groups.client, slack.membership_cache_s,
                                       slack.membership_grace_s)

    def refusal(self, user_id: str) -> str | None:
        """Why ``user_id`` gets no answer at all (a guest, an outsider, unknown), or None."""
        standing = self.people.standing(user_id)
        if standing.is_member:
            return None
        if standing.kind == "unknown":
            return messages.WHO_ARE_YOU
        if self.settings.slack.allow_guests:
            return None
        log.info("not answering %s: a %s user (slack.allow_guests is false)", user_id,
                 standing.kind)
        return messages.GUESTS_NOT_ANSWERED

    def audiences(self, user_id: str) -> tuple[str, ...]:
        """The audiences ``user_id`` belongs to, for answers only they will see; none for
        a guest or an outsider, whatever the configuration lists."""
        if not self.people.standing(user_id).is_member:
            return ()
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
                     sources=self.sources(channel_id))

    def in_channel(self, user_id: str, channel_id: str) -> bool:
        """Whether ``user_id`` is a member of ``channel_id`` (``conversations.members``,
        paged); any failure, or a channel too big to page through, answers False."""
        client, cursor = self.groups.client, None
        try:
            for _ in range(MEMBER_PAGES):
                page = client.conversations_members(channel=channel_id, cursor=cursor,
                                                    limit=MEMBERS_PAGE)
                if user_id in (page.get("members") or ()):
                    return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return False
        except SlackApiError as exc:
            log.info("could not list the members of %s (%s): treating %s as outside it",
                     channel_id, exc.response.get("error"), user_id)
            return False
        except Exception as exc:  # noqa: BLE001 - unreachable Slack: fail closed
            log.warning("could not list the members of %s (%s)", channel_id, exc)
            return False
        log.warning("%s has more than %d members: not paging further", channel_id,
                    MEMBERS_PAGE * MEMBER_PAGES)
        return False
