"""Incremental sync: only what changed is read and embedded; nothing good is ever lost."""

from __future__ import annotations

import multiprocessing
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from indexer.errors import SyncBusyError
from tests.conftest import write

LEAVE = """---
title: Annual leave
---
# Annual leave

## Allowance

Everyone gets 25 days of paid annual leave per year, plus public holidays.

## Carry-over

You may carry over up to 5 unused days into the next year; use them by 31 March.
"""

EXPENSES = """# Expenses

## Deadlines

Submit every expense claim within 30 days of the purchase, with an itemised receipt.

## Not reimbursable

Alcohol, fines and upgrades are never reimbursed.
"""


@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    root = tmp_path / "handbook"
    write(root, "people/leave.md", LEAVE)
    write(root, "finance/expenses.md", EXPENSES)
    write(root, "notes.txt", "Office wifi password rotates every Monday.\n")
    return root


def _source(root: Path, **extra: Any) -> dict[str, Any]:
    return {"name": "hb", "type": "directory", "path": str(root),
            "url": "https://git.example/hb/blob/main/{path}", **extra}


def _rows(index: Any, where: str | None = None) -> list[dict[str, Any]]:
    query = index.store.table.search()
    if where:
        query = query.where(where)
    return query.limit(None).to_list()


def _bump(path: Path, text: str) -> None:
    """Rewrite a file and make sure its mtime moves, as an editor's save would."""
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_first_sync_then_nothing_to_do(handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)])
    first = index.sync().summary()
    assert (first["added"], first["failed"], first["deleted"]) == (3, 0, 0)
    assert first["chunks_embedded"] == len(_rows(index)) > 0
    again = index.sync().summary()
    assert again == {**again, "added": 0, "updated": 0, "unchanged": 3, "deleted": 0,
                     "failed": 0, "chunks_embedded": 0}


def test_rows_follow_the_schema_and_link_to_sections(handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)], chunking={"min_tokens": 0})
    index.sync()
    rows = {r["section"]: r for r in _rows(index, "path = 'people/leave.md'")}
    carry = rows["Annual leave › Carry-over"]
    assert carry["url"] == "https://git.example/hb/blob/main/people/leave.md#carry-over"
    assert carry["doc_id"] == "hb:people/leave.md" and carry["title"] == "Annual leave"
    assert carry["start_line"] == carry["end_line"] == 12  # the paragraph's line in the file
    assert len(carry["vector"]) == 384 and carry["audience"] == []
    txt = _rows(index, "path = 'notes.txt'")[0]
    assert txt["url"].endswith("notes.txt#L1-L1")  # plain text links to line ranges


def test_edit_re_embeds_only_changed_chunks(handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)], chunking={"min_tokens": 0})  # sections apart
    index.sync()
    before = {r["section"]: r["content_hash"] for r in _rows(index, "path = 'people/leave.md'")}
    _bump(handbook / "people/leave.md", LEAVE.replace("25 days", "27 days"))
    report = index.sync().summary()
    assert (report["updated"], report["unchanged"], report["chunks_embedded"]) == (1, 2, 1)
    after = {r["section"]: r for r in _rows(index, "path = 'people/leave.md'")}
    assert "27 days" in after["Annual leave › Allowance"]["text"]
    assert after["Annual leave › Carry-over"]["content_hash"] == \
        before["Annual leave › Carry-over"]
    assert not _rows(index, "text LIKE '%25 days%'")  # the old text is gone


def test_touch_without_change_embeds_nothing(handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)])
    index.sync()
    _bump(handbook / "finance/expenses.md", EXPENSES)
    report = index.sync().summary()
    assert report["chunks_embedded"] == 0 and report["updated"] == 0
    assert report["unchanged"] == 3


def test_add_delete_and_rename(handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)])
    index.sync()
    write(handbook, "it/laptops.md", "# Laptops\n\nEngineers get a new laptop every 3 years.\n")
    (handbook / "notes.txt").unlink()
    report = index.sync().summary()
    assert (report["added"], report["deleted"], report["unchanged"]) == (1, 1, 2)
    assert not _rows(index, "path = 'notes.txt'")

    shutil.move(handbook / "finance/expenses.md", handbook / "finance/claims.md")
    renamed = index.sync().summary()
    assert (renamed["added"], renamed["deleted"]) == (1, 1)
    assert renamed["chunks_embedded"] == 0  # same text: vectors are reused, not recomputed
    assert {r["path"] for r in _rows(index, "source = 'hb'")} == {
        "people/leave.md", "finance/claims.md", "it/laptops.md"}


def test_broken_document_is_reported_and_skipped(handbook: Path, make_index: Any) -> None:
    write(handbook, "broken.md", "---\ntitle: [unclosed\n---\n# Broken\n\ntext\n")
    (handbook / "scan.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    index = make_index([_source(handbook)])
    result = index.sync()
    report = result.reports[0]
    assert report.status == "partial" and report.failed == 2 and report.added == 3
    reasons = dict(report.failures)
    assert "front matter is not valid YAML" in reasons["broken.md"]
    assert "scan.pdf" in reasons
    assert index.state.failures("hb") == report.failures  # kept for `policybot status`


def test_markdown_broken_by_an_edit_is_reported_and_its_rows_dropped(handbook: Path,
                                                                     make_index: Any) -> None:
    # Its front matter may now narrow its audience, so the last good (public) rows cannot
    # stand; formats that declare no audience keep theirs (tests/test_index_security.py).
    index = make_index([_source(handbook)])
    index.sync()
    _bump(handbook / "people/leave.md", "---\naudience: [\n---\nbroken")
    report = index.sync().reports[0]
    assert (report.failed, report.deleted) == (1, 1)
    assert not _rows(index, "path = 'people/leave.md'")


def test_source_that_cannot_be_listed_keeps_everything(handbook: Path, tmp_path: Path,
                                                      make_index: Any) -> None:
    index = make_index([_source(handbook)])
    index.sync()
    count = index.store.table.count_rows()
    shutil.move(handbook, tmp_path / "unmounted")  # the share went away
    result = index.sync()
    assert not result.ok and "does not exist" in result.reports[0].error
    assert result.summary()["deleted"] == 0
    assert index.store.table.count_rows() == count
    assert index.state.last_runs()["hb"].status == "failed"


def test_full_resync_rereads_but_reuses_vectors(handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)])
    index.sync()
    report = index.sync(full=True).summary()
    assert report["unchanged"] == 3 and report["chunks_embedded"] == 0


def test_audience_from_front_matter_narrows_source(tmp_path: Path, make_index: Any) -> None:
    root = tmp_path / "hr"
    write(root, "bands.md", "---\naudience: [managers]\n---\n# Bands\n\nReview in March.\n")
    write(root, "open.md", "# Open\n\nEveryone in HR can read this.\n")
    write(root, "wider.md", "---\naudience: [everyone]\n---\n# Wider\n\nNot allowed.\n")
    index = make_index([_source(root, audience=["hr", "managers"])])
    report = index.sync().reports[0]
    audiences = {r["path"]: r["audience"] for r in _rows(index)}
    assert audiences == {"bands.md": ["managers"], "open.md": ["hr", "managers"]}
    assert "outside source audience" in dict(report.failures)["wider.md"]


def _hold_lock(home: str, ready: Any, release: Any) -> None:
    from indexer.lock import index_lock

    with index_lock(Path(home), "chunks", 5):
        ready.set()
        release.wait(30)


def test_one_sync_at_a_time_across_processes(handbook: Path, tmp_path: Path,
                                             make_index: Any) -> None:
    index = make_index([_source(handbook)], index={"lock_timeout_s": 0.5})
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(index.settings.home), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        started = time.monotonic()
        with pytest.raises(SyncBusyError, match="another sync"):
            index.sync()
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(30)
    assert index.sync().summary()["added"] == 3  # free again once the other one ends


def test_front_matter_tags_make_the_document_findable_by_them(tmp_path: Path,
                                                             make_index: Any) -> None:
    root = tmp_path / "hb"
    write(root, "leave.md", "---\ntitle: Annual leave\ntags: [vacation, PTO]\n---\n"
          "# Annual leave\n\nEveryone gets 25 days a year.\n")
    write(root, "other.md", "# Expenses\n\nClaims within 30 days.\n")
    index = make_index([_source(root)])
    index.sync()
    (row,) = _rows(index, "path = 'leave.md'")
    assert "vacation PTO" in row["search_text"] and "vacation" not in row["text"]
    hits = index.retriever().search("vacation", k=1, mode="bm25")
    assert hits and hits[0].path == "leave.md"
