"""What PolicyBot keeps about the people who ask: no question text in the logs, and the
processed-event ids only for as long as Slack may retry."""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.history_tables import slack_events
from indexer.state import utcnow
from tests.slack_fixtures import SECRET, TOKEN, SlackBot, slack_settings
from tests.slack_standin import SlackStandIn


def test_a_full_text_search_error_logs_an_id_not_the_question(
        slack_bot: SlackBot, caplog: pytest.LogCaptureFixture) -> None:
    """LanceDB refuses the full-text query (a filter it cannot apply); the log says which
    query by a hash, and neither the message nor the error carries the question."""
    import hashlib

    question = "Can Priya Raman from payroll see my salary-band-review-4471?"
    retriever = slack_bot.svc.index.retriever()
    with caplog.at_level(logging.WARNING, logger="indexer.retrieval"):
        assert retriever._bm25(question, "no_such_column = 1", 5) == []
    (record,) = [r for r in caplog.records if "full-text search failed" in r.getMessage()]
    logged = record.getMessage()
    assert hashlib.sha256(question.encode()).hexdigest()[:16] in logged
    for word in ("Priya", "payroll", "4471"):
        assert word not in caplog.text


def test_processed_slack_events_are_pruned_on_a_schedule_not_only_at_start(
        tmp_path: Path, indexed_handbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bot that has been running for days forgets event ids older than three days
    while it runs: serve's start-up prunes, and so does a timer after it."""
    import shutil

    from bot.settings import load_app_settings
    from bot.slack import runner
    from bot.slack.secrets import SlackSecrets

    shutil.copytree(indexed_handbook / "home", tmp_path / "home")
    shutil.copytree(indexed_handbook / "docs", tmp_path / "docs")
    # torch_threads 0: start_services would otherwise pin this test process to one thread
    settings = load_app_settings(None, **slack_settings(tmp_path, tmp_path / "docs",
                                                        torch_threads=0))
    switch = sys.getswitchinterval()
    monkeypatch.setattr(runner, "EVENTS_PRUNE_EVERY_S", 0.3)
    monkeypatch.setattr(runner, "_warm_up", lambda svc: None)  # no model needed here
    with SlackStandIn() as slack:
        svc, _, scheduler = runner.start_services(
            settings, SlackSecrets(TOKEN, SECRET, api_url=slack.url))
        try:
            history = svc.history
            assert history.claim_event("event:EvOLD", "event:EvNEW")
            with history.engine.begin() as conn:  # EvOLD arrived four days ago
                conn.execute(update(slack_events).where(slack_events.c.key == "event:EvOLD")
                             .values(received_at=utcnow() - timedelta(days=4)))
            deadline = time.monotonic() + 10
            keys: Any = None
            while time.monotonic() < deadline:
                with history.engine.connect() as conn:
                    keys = set(conn.execute(select(slack_events.c.key)).scalars())
                if "event:EvOLD" not in keys:
                    break
                time.sleep(0.1)
            assert keys == {"event:EvNEW"}
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            svc.close()
            sys.setswitchinterval(switch)
