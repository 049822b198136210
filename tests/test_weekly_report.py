"""``policybot report``: the handbook's gaps, 👎 by document, most and oldest cited
documents, from a real state database (SQLite and PostgreSQL) filled by real answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.history import BotHistory
from bot.reports.weekly import WeeklyReport, report_html, report_text, weekly_report
from tests.conftest import sample_index
from tests.pg_server import create_database
from tests.report_fixtures import (
    ASKERS,
    CRYPTO,
    DOG,
    LEAVE,
    OLD_DATE,
    OLD_GAP,
    PARENTAL,
    XSS,
    fill_week,
)

POLICYBOT = str(Path(sys.executable).with_name("policybot"))


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> tuple[Any, Any, Any]:
    from bot.answering import build_answerer

    settings, index = sample_index(tmp_path_factory.mktemp("weekly") / "home", embedder,
                                   "sample-handbook")
    return settings, index, build_answerer(settings, index)


def _embed(index: Any) -> Any:
    return lambda texts: index.embedder.embed(texts, progress=False)


@pytest.fixture(scope="module")
def week(handbook: tuple[Any, Any, Any]) -> tuple[WeeklyReport, dict[str, Any]]:
    settings, index, answerer = handbook
    history = BotHistory(settings.db_url)
    ids = fill_week(history, answerer)
    return weekly_report(history.engine, _embed(index), timedelta(days=7)), ids


def _gap_questions(ids: dict[str, Any]) -> list[str]:
    unanswered = [q for q in (*DOG, CRYPTO, XSS) if ids["outcomes"][q] != "answered"]
    assert len(unanswered) == 6, f"the fixture's gap questions must go unanswered: {ids}"
    return unanswered


def test_gaps_group_similar_unanswered_questions_with_counts(
        week: tuple[WeeklyReport, dict[str, Any]]) -> None:
    report, ids = week
    _gap_questions(ids)
    assert report.gaps_asked == 6 and report.answers == 9  # the 30-day-old one is out
    dog = report.gaps[0]
    assert (dog.question, dog.asked, dog.people) == (DOG[0], 4, 3)
    assert set(dog.wordings) == {DOG[1], DOG[2]}
    assert dog.not_covered + dog.evidence == 4
    assert dog.evidence == sum(ids["outcomes"][q] == "evidence" for q in DOG)
    others = {g.question: g.asked for g in report.gaps[1:]}
    assert others[CRYPTO] == 1 and " ".join(XSS.split()) in others
    shown = {g.question for g in report.gaps} | {w for g in report.gaps for w in g.wordings}
    assert OLD_GAP not in shown and LEAVE not in shown and PARENTAL not in shown


def test_feedback_is_grouped_by_cited_document_with_reasons(
        week: tuple[WeeklyReport, dict[str, Any]]) -> None:
    report, _ = week
    by_doc = {f.doc_id: f for f in report.feedback}
    leave = by_doc["sample-handbook:people/annual-leave.md"]
    assert leave.down == 2 and dict(leave.reasons) == {"outdated": 2, "wrong": 1}
    assert leave.comments == ["the allowance changed in 2026"]
    assert report.feedback[0] is leave  # most 👎 first
    uncited = by_doc[""]  # the 👎 on a not-covered/evidence answer: no document to blame
    assert uncited.down == 1 and dict(uncited.reasons) == {"missing_source": 1}
    assert not any("parental" in d for d in by_doc)  # a 👍 is not in the 👎 list


def test_most_cited_and_cited_but_old_documents(
        week: tuple[WeeklyReport, dict[str, Any]]) -> None:
    report, _ = week
    cited = {d.doc_id: d for d in report.most_cited}
    assert report.most_cited[0].doc_id == "sample-handbook:people/annual-leave.md"
    assert cited["sample-handbook:people/annual-leave.md"].answers == 2
    assert report.most_cited[0].title == "Annual leave"
    old = {d.doc_id: d for d in report.cited_old}
    assert list(old) == ["sample-handbook:people/parental-leave.md"]
    assert old["sample-handbook:people/parental-leave.md"].date == OLD_DATE


def test_the_report_never_names_who_asked(week: tuple[WeeklyReport, dict[str, Any]]) -> None:
    report, _ = week
    for shown in (report_text(report), report_html(report),
                  json.dumps(report.to_dict(), ensure_ascii=False)):
        assert "dog" in shown  # control: the gaps are in it
        assert not any(user in shown for user in ASKERS)


def test_html_report_escapes_questions(week: tuple[WeeklyReport, dict[str, Any]]) -> None:
    page = report_html(week[0])
    assert "<script" not in page
    assert "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;" in page


def test_weekly_report_reads_postgresql_too(handbook: tuple[Any, Any, Any],
                                           postgres_url: str) -> None:
    _, index, answerer = handbook
    history = BotHistory(create_database(postgres_url))
    ids = fill_week(history, answerer)
    _gap_questions(ids)
    report = weekly_report(history.engine, _embed(index), timedelta(days=7))
    assert (report.gaps[0].asked, report.gaps[0].people) == (4, 3)
    assert report.cited_old[0].date == OLD_DATE and report.feedback[0].down == 2


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed script, its home from the config file (not the test's env)."""
    env = {k: v for k, v in os.environ.items() if k != "POLICYBOT_HOME"}
    return subprocess.run([POLICYBOT, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _config(settings: Any) -> Path:
    from indexer.sample import SAMPLE_DIR

    config = settings.home.parent / "policybot.toml"
    config.write_text(f'home = {json.dumps(str(settings.home))}\n\n[[sources]]\n'
                      f'name = "sample-handbook"\ntype = "directory"\n'
                      f'path = {json.dumps(str(SAMPLE_DIR))}\n')
    return config


def test_report_command_prints_text_json_and_writes_html(
        week: tuple[WeeklyReport, dict[str, Any]], handbook: tuple[Any, Any, Any],
        tmp_path: Path) -> None:
    config = _config(handbook[0])
    page = tmp_path / "weekly.html"
    run = _cli("--config", str(config), "report", "--since", "7d", "--json", "--html",
               str(page))
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["gaps"][0]["question"] == DOG[0] and data["gaps"][0]["asked"] == 4
    assert data["cited_old"][0]["doc_id"] == "sample-handbook:people/parental-leave.md"
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    text = _cli("--config", str(config), "report", "--since", "2w")
    assert text.returncode == 0, text.stderr
    assert f"4× {DOG[0]}  (3 people" in text.stdout
    assert "Cited but unchanged for over a year:" in text.stdout
    bad = _cli("--config", str(config), "report", "--since", "7x", timeout=60)
    assert bad.returncode == 2 and "like 48h, 7d or 2w" in bad.stderr
