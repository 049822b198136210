"""Stale-answer alerts: when a sync changes or removes a document that a recent answer
cited, one short reply in that answer's thread says so. Each (answer, document, change)
is claimed in the state database first, so no change is ever announced twice, even with
several replicas or a restart in between."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.history import AnswerRecord
from bot.slack import messages
from bot.slack.services import Services
from indexer.index import SyncResult
from indexer.state import utcnow

log = logging.getLogger(__name__)


def alert_stale_answers(svc: Services, result: SyncResult) -> int:
    """Post the alerts ``result`` calls for; returns how many threads were told."""
    days = svc.settings.slack.stale_alert_days
    changes = {doc: change for r in result.reports for doc, change in r.changes.items()}
    if not days or not changes:
        return 0
    due: dict[str, tuple[AnswerRecord, list[str]]] = {}  # answer id → (answer, its docs)
    for record, doc_id in svc.history.answers_citing(sorted(changes), days):
        if svc.history.claim_alert(record.id, doc_id, changes[doc_id]):
            due.setdefault(record.id, (record, []))[1].append(doc_id)
    for record, docs in due.values():
        _post(svc, record, docs, changes)
    return len(due)


def _post(svc: Services, record: AnswerRecord, docs: list[str],
          changes: dict[str, str]) -> None:
    titles = {c.get("doc_id"): c.get("title") or c.get("path") for c in record.citations}
    when = utcnow()
    lines = [messages.stale_answer(doc.split(":", 1)[0], str(titles.get(doc) or doc),
                                   None if changes[doc] == "deleted" else when,
                                   removed=changes[doc] == "deleted")
             for doc in docs]
    try:
        svc.client.chat_postMessage(channel=record.channel_id,
                                    thread_ts=record.thread_ts or record.message_ts,
                                    text="\n".join(lines), unfurl_links=False,
                                    unfurl_media=False)
    except SlackApiError as exc:
        svc.slack_error("chat.postMessage", exc)
