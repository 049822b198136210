"""Both report pages in a real headless browser (Debian's ``chromium``): they load
without console messages and show every question and row; and the screenshots in docs/.

The pages run no script, so any console message is the browser complaining (a refused or
failed load, a CSP violation): the check is that there is none, with a control page that
shows the check sees them. ``.ci/run`` installs chromium when missing; elsewhere the test
is skipped with the reason, unless ``POLICYBOT_REQUIRE_CHROMIUM=1``.

``POLICYBOT_SCREENSHOTS=docs`` also writes ``docs/eval-report.png`` and
``docs/weekly-report.png`` (the README shows them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from bot.history import BotHistory
from tests.conftest import SHARED_DATA, sample_index
from tests.report_fixtures import XSS, fill_week

CONSOLE = re.compile(r":CONSOLE[:(]")
# read at import: the autouse fixture clears POLICYBOT_* variables before each test
SCREENSHOTS = os.environ.get("POLICYBOT_SCREENSHOTS", "")
REQUIRE = os.environ.get("POLICYBOT_REQUIRE_CHROMIUM") == "1"
DATA = Path(__file__).resolve().parents[1] / "bot" / "data" / "handbook_dev.jsonl"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "needs Debian's chromium package (apt-get install chromium; .ci/run does)"
        if REQUIRE:
            pytest.fail(f"POLICYBOT_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)
    return found


def _chromium(binary: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args,
           page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def load(binary: str, page: Path, profile: Path) -> tuple[BeautifulSoup, list[str]]:
    """The page's DOM after loading (scripts, had any run, included) and its console."""
    run = _chromium(binary, page, profile, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    return (BeautifulSoup(run.stdout, "html.parser"),
            [line for line in run.stderr.splitlines() if CONSOLE.search(line)])


def screenshot(binary: str, page: Path, profile: Path, name: str, height: int) -> None:
    if not SCREENSHOTS:
        return
    out = Path(SCREENSHOTS).resolve() / name
    out.parent.mkdir(parents=True, exist_ok=True)
    run = _chromium(binary, page, profile, "--hide-scrollbars", f"--window-size=1280,{height}",
                    f"--screenshot={out}")
    assert run.returncode == 0 and out.stat().st_size > 10_000, run.stderr[-2000:]


def _questions() -> list[dict[str, Any]]:
    """The slack-dev questions over the sample handbook (with kinds and follow-ups) when the
    shared data set is here, else the first 40 of the bundled dev questions."""
    shared = SHARED_DATA / "qa" / "slack-dev" / "questions.jsonl"
    if shared.exists():
        rows = [json.loads(line) for line in shared.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        return [r for r in rows if r.get("corpus") == "sample-handbook"]
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()[:40]]


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> tuple[Any, Any, Any]:
    from bot.answering import build_answerer

    settings, index = sample_index(tmp_path_factory.mktemp("browser") / "home", embedder,
                                   "sample-handbook")
    return settings, index, build_answerer(settings, index)


def test_console_check_sees_a_refused_load(chromium: str, tmp_path: Path) -> None:
    """Control: a page like ours that pulls a script from a CDN logs to the console."""
    page = tmp_path / "cdn.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    "content=\"default-src 'none'\"></head><body><p>x</p>"
                    '<script src="https://cdn.example.invalid/plot.js"></script></body></html>')
    _, console = load(chromium, page, tmp_path / "profile")
    assert console


def test_eval_report_loads_cleanly_and_shows_every_question(
        chromium: str, handbook: tuple[Any, Any, Any], tmp_path: Path) -> None:
    from bot.evaluation import run_evaluation
    from bot.reports.eval_page import eval_html

    settings, index, _ = handbook
    items = _questions()
    items.append({"id": "hb-xss", "question": XSS, "gold_paths": [], "answer": ""})
    details: list[dict[str, Any]] = []
    report = run_evaluation(settings, index, items, baseline=True, details=details)
    page = tmp_path / "eval.html"
    page.write_text(eval_html(report, details, title="PolicyBot evaluation: sample handbook"),
                    encoding="utf-8")
    dom, console = load(chromium, page, tmp_path / "profile")
    assert console == []
    rows = dom.select("#questions tr.question")
    assert [r["data-id"] for r in rows] == [str(i["id"]) for i in items]
    for row, item in zip(rows, items, strict=True):
        assert " ".join(item["question"].split()) in " ".join(row.get_text().split())
    assert dom.body.get("data-pwned") is None and dom.find("script") is None
    assert len(dom.select("svg#answerability circle")) == sum(
        d["answerability"] is not None for d in details)
    screenshot(chromium, page, tmp_path / "profile", "eval-report.png", 1900)


def test_weekly_report_loads_cleanly_and_shows_every_row(
        chromium: str, handbook: tuple[Any, Any, Any], tmp_path: Path) -> None:
    from bot.reports.weekly import report_html, weekly_report

    _, index, answerer = handbook
    history = BotHistory(f"sqlite:///{tmp_path / 'state.db'}")
    fill_week(history, answerer)
    report = weekly_report(history.engine, lambda t: index.embedder.embed(t, progress=False),
                           timedelta(days=7))
    page = tmp_path / "weekly.html"
    page.write_text(report_html(report), encoding="utf-8")
    dom, console = load(chromium, page, tmp_path / "profile")
    assert console == []
    gaps = dom.select("#gaps tr.gap")
    assert len(gaps) == len(report.gaps) >= 3
    for row, gap in zip(gaps, report.gaps, strict=True):
        assert gap.question in row.get_text() and row.find("td").get_text() == str(gap.asked)
    assert len(dom.select("#feedback tr.feedback")) == len(report.feedback) >= 2
    assert len(dom.select("#cited tr.cited")) == len(report.most_cited) >= 2
    assert len(dom.select("#old tr.old")) == len(report.cited_old) == 1
    assert dom.body.get("data-pwned") is None and dom.find("script") is None
    screenshot(chromium, page, tmp_path / "profile", "weekly-report.png", 1250)
