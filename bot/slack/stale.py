"""Stale-answer alerts: when a sync changes or removes a document that a recent answer
cited, one short reply in that answer's thread says so. Each (answer, document, change)
is claimed in the state database first, so no change is ever announced twice, even with
several replicas or a restart in between; an alert Slack refused is tried again after the
next sync (see :mod:`bot.alert_ledger`). Alerts are claimed one thread at a time, just
before that thread's post, and a failing post (any exception) never stops the pass: what
is not yet claimed is still owed if the process dies half-way."""

from __future__ import annotations

import logging
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from bot.alert_ledger import Alert
from bot.history import AnswerRecord
from bot.slack import messages
from bot.slack.services import Services
from indexer.index import SyncResult

log = logging.getLogger(__name__)

# Errors a later attempt cannot fix: the thread is out of reach for good.
FINAL_ERRORS = {"channel_not_found", "is_archived", "not_in_channel", "thread_not_found",
                "account_inactive", "invalid_auth", "token_revoked"}


def alert_stale_answers(svc: Services, result: SyncResult) -> int:
    """Post the alerts ``result`` calls for, and retry those Slack refused before; returns
    how many threads were told. Each thread's alerts are claimed just before its post and
    each post stands alone: a failure (any exception) is recorded for that post, and the
    pass goes on with the next thread."""
    ledger = svc.history.alerts
    retries: dict[str, list[Alert]] = {}  # answer id → its refused alerts, one post a thread
    for failed in ledger.failed():
        retries.setdefault(failed.answer_id, []).append(failed)
    fresh: dict[str, tuple[AnswerRecord, list[str]]] = {}  # answer id → (record, doc ids)
    days = svc.settings.slack.stale_alert_days
    changes = {doc: change for r in result.reports for doc, change in r.changes.items()}
    described = {doc: text for r in result.reports for doc, text in r.described.items()}
    if days and changes:
        for record, doc_id in svc.history.answers_citing(sorted(changes), days):
            fresh.setdefault(record.id, (record, []))[1].append(doc_id)
    told = 0
    for answer_id in dict.fromkeys([*retries, *fresh]):
        try:
            record = fresh[answer_id][0] if answer_id in fresh else svc.history.answer(answer_id)
            if record is None:  # the answer was deleted: no thread to tell, ever
                ledger.refused(retries.get(answer_id, []), "answer gone", retry=False)
                continue
            alerts = [a for a in (ledger.reclaim(f) for f in retries.get(answer_id, [])) if a]
            alerts += [a for a in (ledger.claim(answer_id, d, changes[d])
                                   for d in fresh.get(answer_id, (None, []))[1]) if a]
            if alerts and _post(svc, record, alerts, described):
                told += 1
        except Exception:  # the state database, say: the other threads still get theirs
            log.exception("stale-answer alert for answer %s failed", answer_id)
    return told


def _post(svc: Services, record: AnswerRecord, alerts: list[Alert],
          described: dict[str, str] | None = None) -> bool:
    """``described``: doc id → how its new version reads (this sync's changes only; an
    alert retried from an earlier pass says when, not what)."""
    titles = {c.get("doc_id"): c.get("title") or c.get("path") for c in record.citations}
    lines = [messages.stale_answer(a.doc_id.split(":", 1)[0], str(titles.get(a.doc_id)
                                                                   or a.doc_id),
                                   None if a.change == "deleted" else a.claimed_at,
                                   removed=a.change == "deleted",
                                   now=(described or {}).get(a.doc_id, ""))
             for a in alerts]
    try:
        svc.client.chat_postMessage(channel=record.channel_id,
                                    thread_ts=record.thread_ts or record.message_ts,
                                    text="\n".join(lines), unfurl_links=False,
                                    unfurl_media=False)
    except SlackApiError as exc:  # Slack answered: it did not post
        svc.slack_error("chat.postMessage", exc)
        error = str(exc.response.get("error") or exc)
        svc.history.alerts.refused(alerts, error, retry=error not in FINAL_ERRORS)
        return False
    except URLError as exc:  # no connection, or the request failed while being sent
        log.warning("stale-answer alert for %s not sent: %s", record.id, exc.reason)
        svc.history.alerts.refused(alerts, f"unreachable: {exc.reason}")
        return False
    except Exception as exc:  # noqa: BLE001 - a read timeout, say: Slack may have posted it
        svc.slack_error("chat.postMessage", exc)
        log.warning("stale-answer alert for %s may or may not be posted (%s: %s); "
                    "not retried, so it is never posted twice", record.id,
                    type(exc).__name__, exc)
        svc.history.alerts.refused(alerts, f"unknown: {type(exc).__name__}: {exc}",
                                   retry=False)
        return False
    svc.history.alerts.sent(alerts)
    return True
