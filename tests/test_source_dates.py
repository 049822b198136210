"""The version and date shown beside a source are ones a reader can use: the short commit
and its date for git, the document's own date (front matter, DOCX/PDF properties), the
page's Last-Modified for the web, else the sync day labelled "synced" -- never an mtime in
nanoseconds. Real git repositories, real DOCX/PDF files, a real loopback web server, a
real LanceDB index; the same wording in Slack, the CLI and stale alerts."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from bot.answering import numbered
from bot.cli.render_answer import shown
from bot.slack import messages
from bot.slack.blocks_cite import details
from indexer import rows as rows_module
from indexer.dating import describe, iso_date, metadata_date
from model.citations import cite
from tests.conftest import write
from tests.test_source_git import _git_identity, commit, git, new_repo  # noqa: F401
from tests.test_source_web import Page, site  # noqa: F401

TODAY = datetime.now(UTC).date().isoformat()


def passages_by_path(index: Any, query: str, k: int = 10) -> dict[str, Any]:
    found = index.retriever().search(query, k=k)
    return {p.path: p for p in found}


def stored_rows(index: Any) -> list[dict[str, Any]]:
    return index.store.table.search().limit(None).to_list()


def test_git_source_shows_short_commit_and_commit_date_or_the_documents_own_date(
        tmp_path: Path, make_index: Callable[..., Any], monkeypatch: pytest.MonkeyPatch):
    repo = new_repo(tmp_path / "hb")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2024-03-05T10:00:00+00:00")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2024-03-05T10:00:00+00:00")
    first = commit(repo, "leave", {"leave.md": "# Leave\n\nEveryone gets twenty-five days "
                                               "of annual leave each year.\n"})
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2025-06-07T23:30:00+00:00")
    second = commit(repo, "travel", {"travel.md": "---\nlast_updated: 2023-11-02\n---\n"
                                                  "# Travel\n\nBook economy class for "
                                                  "flights under six hours.\n"})
    index = make_index([{"name": "hb", "type": "git", "repo": str(repo),
                         "url": "https://git.example/hb/{version}/{path}"}])
    assert index.sync().ok
    found = passages_by_path(index, "annual leave days travel economy flights")
    leave, travel = found["leave.md"], found["travel.md"]
    assert (leave.dating.version, leave.dating.date, leave.dating.kind) == \
        (first[:7], "2024-03-05", "commit")
    # the policy's own date wins over the commit's; the commit stays the version
    assert (travel.dating.version, travel.dating.date, travel.dating.kind) == \
        (second[:7], "2023-11-02", "document")
    assert leave.doc_version == first  # the full commit still decides what is re-read

    cites = [cite(n, p, "q") for n, p in enumerate(numbered([leave, travel]), start=1)]
    assert details(cites[0]) == f" · commit {first[:7]} · committed 2024-03-05"
    assert details(cites[1]) == f" · commit {second[:7]} · updated 2023-11-02"
    assert shown(cites[0]) == f"  (commit {first[:7]} · committed 2024-03-05)"
    assert cites[0].public_dict()["version"] == first[:7]
    assert cites[0].public_dict()["date"] == "2024-03-05"


def _docx(modified: datetime) -> bytes:
    doc = Document()
    doc.add_heading("Learning budget", level=1)
    doc.add_paragraph("Each employee may spend up to 900 euros a year on courses and books.")
    doc.core_properties.modified = modified
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _pdf(mod_date: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Travel insurance covers medical emergencies abroad for every "
                         "employee on a business trip.")
    reader = PdfReader(io.BytesIO(bytes(pdf.output())))
    writer = PdfWriter()
    writer.append(reader)
    writer.add_metadata({"/ModDate": mod_date, "/Title": "Travel insurance"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_documents_dates_come_from_front_matter_docx_and_pdf_properties_else_the_sync_day(
        tmp_path: Path, make_index: Callable[..., Any]):
    root = tmp_path / "docs"
    write(root, "expenses.md", "---\ntitle: Expenses\nupdated: 2025-02-03\n---\n\n"
                               "Submit expense claims within thirty days of spending.\n")
    write(root, "parking.md", "# Parking\n\nThe car park closes at eight in the evening.\n")
    (root / "learning.docx").write_bytes(_docx(datetime(2024, 9, 10, 8, 0, tzinfo=UTC)))
    (root / "insurance.pdf").write_bytes(_pdf("D:20230415093000Z"))
    index = make_index([{"name": "docs", "type": "directory", "path": str(root)}])
    report = index.sync()
    assert report.ok, [r.failures for r in report.reports]
    found = passages_by_path(index, "expense claims parking learning budget travel insurance")
    got = {path: (p.dating.version, p.dating.date, p.dating.kind) for path, p in found.items()}
    assert got == {"expenses.md": ("", "2025-02-03", "document"),
                   "learning.docx": ("", "2024-09-10", "document"),
                   "insurance.pdf": ("", "2023-04-15", "document"),
                   "parking.md": ("", TODAY, "synced")}
    # the mtime version is never shown to a reader
    parking = cite(1, numbered([found["parking.md"]])[0], "q")
    assert parking.doc_version and parking.doc_version not in details(parking)
    assert details(parking) == f" · synced {TODAY}"


def test_web_page_date_is_its_last_modified_header(site, make_index):  # noqa: F811
    site.pages["/policies/remote.html"] = Page(
        b"<h1>Remote work</h1><p>Staff may work remotely up to three days a week.</p>",
        last_modified="Tue, 14 Oct 2025 08:00:00 GMT")
    site.pages["/policies/desk.html"] = Page(
        b"<h1>Desks</h1><p>Hot desks are booked through the office app.</p>", etag='"d1"')
    index = make_index([{"name": "intranet", "type": "web", "allow_private_network": True,
                         "urls": [f"{site.base}/policies/remote.html",
                                  f"{site.base}/policies/desk.html"]}])
    assert index.sync().ok
    found = passages_by_path(index, "remote work hot desks")
    remote, desk = found["policies/remote.html"], found["policies/desk.html"]
    assert (remote.dating.date, remote.dating.kind) == ("2025-10-14", "http")
    assert remote.dating.describe() == "last modified 2025-10-14"
    assert (desk.dating.version, desk.dating.date, desk.dating.kind) == ("", TODAY, "synced")


def test_an_index_from_before_dates_answers_reports_them_missing_and_one_sync_fills_them(
        tmp_path: Path, make_index: Callable[..., Any], monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "docs"
    write(root, "leave.md", "---\nupdated: 2025-05-06\n---\n# Leave\n\n"
                            "Annual leave is twenty-five days.\n")
    sources = [{"name": "docs", "type": "directory", "path": str(root)}]
    monkeypatch.setattr(rows_module, "ROW_FORMAT", 1)  # rows as the previous release wrote
    old = make_index(sources)
    assert old.sync().ok
    old.store.table.drop_columns(["version_label", "doc_date", "dated_by", "sections",
                                  "links"])
    monkeypatch.undo()

    index = make_index(sources)
    # no crash: the columns are missing, the row's write day shows as "synced"
    (leave,) = index.retriever().search("annual leave", k=1)
    assert (leave.dating.date, leave.dating.kind) == (TODAY, "synced")
    from indexer.status import index_status
    assert index_status(index)["undated_rows"] == index.store.table.count_rows() > 0
    from bot.cli.render import status as render_status
    assert "run `policybot sync` to fill them in" in render_status(index_status(index))

    summary = index.sync().summary()
    assert summary["chunks_embedded"] == 0  # re-derived, not re-embedded
    assert (summary["unchanged"], summary["updated"]) == (1, 0)  # no stale alert
    assert index.store.table.count_rows("doc_date IS NULL") == 0
    (leave,) = index.retriever().search("annual leave", k=1)
    assert (leave.dating.date, leave.dating.kind) == ("2025-05-06", "document")
    assert "fill them in" not in render_status(index_status(index))


def test_cli_search_json_and_text_carry_version_and_date(tmp_path: Path):
    from tests.test_cli import run

    root = tmp_path / "docs"
    write(root, "leave.md", "---\nlast_updated: 2025-05-06\n---\n# Leave\n\n"
                            "Annual leave is twenty-five days.\n")
    config = tmp_path / "policybot.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n\n[[sources]]\nname = "docs"\n'
                      f'type = "directory"\npath = "{root}"\n')
    assert run("sync", config=config).returncode == 0
    out = run("search", "annual leave", "--json", config=config)
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)[0]
    assert (first["version"], first["date"], first["dated_by"]) == ("", "2025-05-06",
                                                                    "document")
    assert "(updated 2025-05-06)" in run("search", "annual leave", config=config).stdout


def test_stale_alert_says_what_the_new_version_is():
    line = messages.stale_answer("hb", "Leave", "2026-11-30T09:00:00+00:00",
                                 now=describe("1a2b3c4", "2026-11-29", "commit"))
    assert "(now commit 1a2b3c4 · committed 2026-11-29)" in line
    removed = messages.stale_answer("hb", "Leave", None, removed=True, now="commit 1a2b3c4")
    assert "now commit" not in removed


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-05-01", "2024-05-01"), ("Wed, 21 Oct 2015 07:28:00 GMT", "2015-10-21"),
    ("D:20230415093000+02'00'", "2023-04-15"), ("soon", None), ("1066-10-14", None),
    ("2999-01-01", None), (datetime(2024, 1, 2, 23, 0, tzinfo=UTC), "2024-01-02")])
def test_dates_parse_from_every_format_and_implausible_ones_are_dropped(value, expected):
    assert iso_date(value) == expected


def test_front_matter_date_keys_most_specific_first():
    assert metadata_date({"date": "2020-01-01", "Last_Updated": "2024-02-02"}) == "2024-02-02"
    assert metadata_date({"date": "not a date", "updated": "2021-03-03"}) == "2021-03-03"
    assert metadata_date({"title": "x"}) is None
