"""``policybot eval --html/--details``: the run as one page and as JSONL, from the installed
script over a real index of the test's own documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from tests.conftest import write

POLICYBOT = str(Path(sys.executable).with_name("policybot"))
XSS = "<script>document.body.setAttribute('data-pwned','1')</script> can I bring my parrot?"
QA = [
    {"id": "e1", "question": "how many annual leave days do I get", "kind": "number",
     "gold_paths": ["leave.md"], "answer": "25 days"},
    {"id": "e2", "question": "how do I claim my travel expenses", "kind": "process",
     "gold_paths": ["expenses.md"], "answer": "through the expenses tool"},
    {"id": "e3", "question": "and can I carry them over?", "kind": "follow-up",
     "follows": "e1", "gold_paths": ["leave.md"], "answer": "5 days"},
    {"id": "e4", "question": XSS, "kind": "not-covered", "gold_paths": [], "answer": ""},
    {"id": "e5", "question": "is crypto trading & <b>day trading</b> allowed?",
     "kind": "not-covered", "gold_paths": [], "answer": ""},
]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "POLICYBOT_HOME"}
    return subprocess.run([POLICYBOT, *args], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, model_cache: Path
        ) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(the --json report, the --details lines, the --html page) of one eval run."""
    root = tmp_path_factory.mktemp("evalreport")
    docs = root / "docs"
    write(docs, "leave.md", "# Leave\n\n## Annual leave\n\nEveryone gets 25 days of annual "
          "leave a year. Up to 5 unused days carry over to the next year.\n")
    write(docs, "expenses.md", "# Expenses\n\n## Travel expenses\n\nClaim travel expenses "
          "in the expenses tool within 30 days, with the receipts attached.\n")
    config = root / "policybot.toml"
    # module-scoped, so set up before the per-test environment: the exported model's
    # folder is named here (the session's, exported once)
    config.write_text(f'home = {json.dumps(str(root / "home"))}\n\n'
                      f'[embedding]\nmodels_dir = {json.dumps(str(model_cache / "models"))}\n\n'
                      f'[[sources]]\n'
                      f'name = "handbook"\ntype = "directory"\npath = {json.dumps(str(docs))}\n')
    assert _cli("--config", str(config), "sync").returncode == 0
    qa = root / "qa.jsonl"
    qa.write_text("".join(json.dumps(q) + "\n" for q in QA), encoding="utf-8")
    page, details = root / "report.html", root / "details.jsonl"
    result = _cli("eval", str(qa), "--config", str(config), "--json", "--html", str(page),
                  "--details", str(details))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    return json.loads(result.stdout), lines, page.read_text(encoding="utf-8")


def test_details_has_one_line_per_question_with_what_came_back(
        run: tuple[dict[str, Any], list[dict[str, Any]], str]) -> None:
    report, details, _ = run
    assert [d["id"] for d in details] == [q["id"] for q in QA]
    by_id = {d["id"]: d for d in details}
    assert by_id["e1"]["outcome"] == "answered" and by_id["e1"]["gold_hit"]
    assert by_id["e1"]["cited"] == ["leave.md"] and by_id["e1"]["gold"] == ["leave.md"]
    assert by_id["e1"]["quotes"] and "25 days" in by_id["e1"]["quotes"][0]["quote"]
    assert by_id["e4"]["question"] == XSS and by_id["e4"]["outcome"] != "answered"
    threshold = report["answer_threshold"]
    for d in details:
        assert d["latency_ms"] > 0 and d["kind"] == next(q["kind"] for q in QA
                                                          if q["id"] == d["id"])
        if d["answerability"] is not None:  # the extractive decision, as it was taken
            assert (d["answerability"] >= threshold) == (d["outcome"] == "answered")
    assert any(d["answerability"] is not None for d in details)


def test_html_page_shows_every_question_escaped(
        run: tuple[dict[str, Any], list[dict[str, Any]], str]) -> None:
    _, details, page = run
    assert "<script" not in page and "src=" not in page and "href=" not in page  # offline
    soup = BeautifulSoup(page, "html.parser")
    rows = soup.select("#questions tr.question")
    assert [r["data-id"] for r in rows] == [q["id"] for q in QA]
    for row, q in zip(rows, QA, strict=True):
        assert q["question"] in row.get_text()  # shown as text, markup and all
    assert rows[3].find("script") is None and rows[4].find("b") is None


def test_html_page_breaks_outcomes_down_by_kind(
        run: tuple[dict[str, Any], list[dict[str, Any]], str]) -> None:
    _, details, page = run
    soup = BeautifulSoup(page, "html.parser")
    header = [th.get_text(strip=True) for th in soup.select("#kinds tr")[0].find_all("th")]
    table = {tr.find("td").get_text(): [td.get_text(strip=True) for td in tr.find_all("td")]
             for tr in soup.select("#kinds tr")[1:]}
    assert set(table) == {"number", "process", "follow-up", "not-covered", "all"}
    for kind, cells in table.items():
        group = [d for d in details if d["kind"] == kind or kind == "all"]
        assert cells[1] == str(len(group))
        for outcome in ("answered", "evidence", "not_covered"):
            assert cells[header.index(outcome)] == str(
                sum(d["outcome"] == outcome for d in group))


def test_html_plot_marks_the_threshold_and_one_dot_per_scored_question(
        run: tuple[dict[str, Any], list[dict[str, Any]], str]) -> None:
    report, details, page = run
    svg = BeautifulSoup(page, "html.parser").select_one("svg#answerability")
    assert svg is not None
    line = svg.select_one("#threshold")
    ticks = {t.get_text(): float(t["x"]) for t in svg.find_all("text")
             if t.get_text().replace(".", "").isdigit()}
    x0, x1 = ticks["0.00"], ticks["1.00"]
    threshold = report["answer_threshold"]
    assert float(line["x1"]) == pytest.approx(x0 + threshold * (x1 - x0), abs=0.1)
    assert f"threshold {threshold:.2f}" in svg.get_text()
    scored = [d for d in details if d["answerability"] is not None]
    dots = svg.find_all("circle")
    assert len(dots) == len(scored)
    for dot in dots:  # each dot sits where its question's score puts it
        qid = dot.find("title").get_text().split(":")[0]
        score = next(d["answerability"] for d in details if d["id"] == qid)
        assert float(dot["cx"]) == pytest.approx(x0 + score * (x1 - x0), abs=0.1)
