"""The slack-bolt App: verification, dedupe, listeners, and the hooks a sync triggers."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.slack.dedupe import dedupe_middleware
from bot.slack.listeners import actions, agent, commands, events, home, stopping
from bot.slack.services import Services
from bot.slack.stale import alert_stale_answers
from indexer.index import SyncResult

log = logging.getLogger(__name__)


class _NoTokenWarning(logging.Filter):
    """Bolt's ``App.__init__`` warns "As you gave `client` as well, `token` will be unused"
    whenever a client is given and ``SLACK_BOT_TOKEN`` is in the environment (it reads the
    variable itself, so no argument avoids it). The token is used: by the client we build
    with it (our base URL and retry handlers). Bolt logs the warning on the logger it is
    given, so the filter sits there, and only while the App is built."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


class _NoBodies(logging.Filter):
    """Bolt logs a rejected request's body; a forged request's body is not ours to keep."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Invalid request signature" in str(record.msg):
            record.msg = "rejected a request with a bad signature or a stale timestamp"
            record.args = ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def build_app(svc: Services, signing_secret: str | None) -> App:
    """``signing_secret`` None: Socket Mode, where Slack's connection authenticates."""
    logging.getLogger("slack_bolt.RequestVerification").addFilter(_NoBodies())
    bolt_log = logging.getLogger("policybot.slack")
    quiet = _NoTokenWarning()
    bolt_log.addFilter(quiet)
    try:
        app = App(client=svc.client, signing_secret=signing_secret or None,
                  request_verification_enabled=signing_secret is not None,
                  # listeners only decide and queue; answers run in svc.workers, so acking
                  # after the listener returns is still a matter of milliseconds
                  process_before_response=True, logger=bolt_log)
    finally:
        bolt_log.removeFilter(quiet)
    if not svc.bot_user_id:
        auth = app.client.auth_test()
        svc.bot_user_id = auth["user_id"]
        svc.access.people.set_workspace(auth)  # to tell Slack Connect users apart
    app.use(dedupe_middleware(svc))
    for listeners in (events, commands, actions, home, agent, stopping):
        listeners.register(app, svc)
    watch_syncs(svc)
    return app


def watch_syncs(svc: Services) -> None:
    """After every sync of ``svc.index`` (scheduled, CLI or Slack): metrics and alerts."""
    svc.index.on_synced.append(lambda result: _after_sync(svc, result))


def _after_sync(svc: Services, result: SyncResult) -> None:
    for report in result.reports:
        svc.metrics.sync_runs.labels(report.source, report.status).inc()
    told = alert_stale_answers(svc, result)
    if told:
        log.info("told %d thread(s) that an answer's sources changed", told)

