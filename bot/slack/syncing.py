"""``/policy refresh`` and ``/policy reindex`` (and App Home's button): syncs started from
Slack, run one at a time off the request thread, reported back to whoever asked.

A re-index clicked twice (a double click, two admins, or each click on another replica)
runs once: the first takes the deployment-wide ``reindex`` lock (:mod:`indexer.lock`) and
holds it until it has finished; a request that finds it taken is told so and starts
nothing, instead of queueing a second full re-index behind the first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import messages
from bot.slack.blocks_commands import progress_blocks, sync_result_blocks
from bot.slack.services import Services
from bot.slack.streaming import Throttled
from bot.slack.workers import Busy
from indexer.errors import PolicyBotError
from indexer.index import SyncResult
from indexer.lock import ClusterLock
from indexer.progress import Progress
from indexer.store import in_list

log = logging.getLogger(__name__)
Reply = Callable[[str], None]


def refresh(svc: Services, sources: list[str], cited: dict[str, str], reply: Reply,
            audiences: tuple[str, ...] = ()) -> None:
    """Incremental sync of ``sources``; ``cited`` maps the answer's doc ids to titles, so
    the reply names the cited documents that changed (all changes when empty).

    The reply is the caller's alone, but it names documents, so it names only those the
    caller's ``audiences`` may see, before the sync and after it: a restricted document
    that changed, appeared or was removed is not mentioned (nor counted)."""
    before = doc_audiences(svc, sources)
    try:
        result = svc.index.sync(sources, trigger="slack-refresh")
    except PolicyBotError as exc:
        log.warning("refresh of %s failed: %s", sources, exc)
        reply(messages.reindex_failed(", ".join(sources)))
        return
    after = doc_audiences(svc, sources)
    changes = [d for r in result.reports for d in r.changes
               if _visible(svc, d, (before, after), audiences)]
    if cited:
        changed = [cited[d] for d in cited if d in changes]
    else:
        changed = sorted(d.split(":", 1)[-1] for d in changes)
    reply(messages.refreshed(sources, changed))


def doc_audiences(svc: Services, sources: list[str]) -> dict[str, list[list[str]]]:
    """doc id → the audience of each of its rows, for the documents of ``sources``."""
    store = svc.index.store
    if not sources or not store.exists:
        return {}
    store.refresh()
    rows = (store.table.search().where(in_list("source", sources))
            .select(["doc_id", "audience"]).limit(None).to_arrow())
    out: dict[str, list[list[str]]] = {}
    for doc_id, audience in zip(rows["doc_id"].to_pylist(), rows["audience"].to_pylist(),
                                strict=True):
        out.setdefault(doc_id, []).append(audience or [])
    return out


def _visible(svc: Services, doc_id: str, states: tuple[dict[str, list[list[str]]], ...],
             audiences: tuple[str, ...]) -> bool:
    """Public or shared with ``audiences`` in every state it was seen in, and within its
    source's configured audience; a document seen in no state is hidden (fail closed)."""
    allowed = set(audiences)
    source = next((s for s in svc.settings.sources if s.name == doc_id.split(":", 1)[0]), None)
    if source is None or (source.audience and not allowed & set(source.audience)):
        return False
    seen = [a for state in states for a in state.get(doc_id, [])]
    return bool(seen) and all(not a or allowed & set(a) for a in seen)


def reindex_checked(svc: Services, user_id: str, source: str | None,
                    reply: Reply | None = None) -> None:
    """``/policy reindex`` and App Home's button: admins only (the button is shown to
    admins only, but never trusted), decided off the ack path since it may look up a
    user group; ``reply`` tells a command's caller what happened (the button has no
    one to tell, except that a re-index already runs: that goes to the admin's DM)."""
    def say(text: str) -> None:
        if reply is not None:
            reply(text)

    if not svc.access.is_admin(user_id):
        log.info("refused a re-index from %s: not an admin", user_id)
        say(messages.NOT_ADMIN)
        return
    claimed = claim_reindex(svc)  # a second click (on any replica) starts nothing
    if claimed is None:
        if reply is not None:
            reply(messages.REINDEX_ALREADY_RUNNING)
        else:
            try:
                svc.client.chat_postMessage(channel=user_id,
                                            text=messages.REINDEX_ALREADY_RUNNING)
            except SlackApiError as exc:
                svc.slack_error("chat.postMessage", exc)
        return
    try:
        svc.syncs.submit(reindex, svc, user_id, source, claimed)
    except Busy:
        claimed.release()
        log.warning("re-index of %s not started: the sync queue is full", source)
        say(messages.BUSY)
        return
    say(messages.reindex_started(source))


def claim_reindex(svc: Services) -> ClusterLock | None:
    """The held ``reindex`` lock of this index, or None when a re-index runs already."""
    settings = svc.settings
    lock = ClusterLock(f"reindex-{settings.index.table}", settings.home, settings.database_url)
    if not lock.acquire(0):
        log.info("re-index not started: one is already running")
        return None
    return lock


def reindex(svc: Services, user_id: str, source: str | None,
            claimed: ClusterLock | None = None) -> None:
    """A full re-index, with progress and the result in a DM to the admin who asked;
    ``claimed`` (from :func:`claim_reindex`) is released once it is over."""
    try:
        _reindex(svc, user_id, source)
    finally:
        if claimed is not None:
            claimed.release()


def _reindex(svc: Services, user_id: str, source: str | None) -> None:
    client = svc.client
    try:
        posted = client.chat_postMessage(channel=user_id, text=messages.reindex_started(source))
    except SlackApiError as exc:
        svc.slack_error("chat.postMessage", exc)
        return
    channel, ts = posted["channel"], posted["ts"]

    def show(text: str, blocks: list[dict[str, Any]]) -> None:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            svc.slack_error("chat.update", exc)

    latest: dict[str, Any] = {}
    relay = Throttled(lambda _: show(
        messages.reindex_progress(latest["source"], latest["docs_done"], latest["docs_total"]),
        progress_blocks(latest["source"], latest["docs_done"], latest["docs_total"])),
        svc.settings.slack.stream_interval_s)

    def on_update(progress: dict[str, Any]) -> None:
        latest.update(progress)
        relay("progress")

    try:
        result = svc.index.sync([source] if source else None, full=True,
                                trigger="slack-reindex",
                                progress=Progress(bar=False, on_update=on_update))
    except PolicyBotError as exc:
        log.warning("re-index of %s failed: %s", source or "all sources", exc)
        show(messages.reindex_failed(source), [])
        return
    summary = {**result.summary(), "source": source,
               "failures": [f for r in result.reports for f in r.failures]}
    show(_finished_text(source, result), sync_result_blocks(summary, result.ok))


def _finished_text(source: str | None, result: SyncResult) -> str:
    if not result.ok:
        return messages.reindex_failed(source)
    s = result.summary()
    return messages.reindex_finished(source, s["added"], s["updated"], s["unchanged"],
                                     s["deleted"], s["failed"], s["seconds"])
