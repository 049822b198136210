"""The index never widens access: a configuration change applies at the next plain sync,
a removed source stops answering, a broken edit cannot keep less restricted rows, a web
page's markup noise is not a new version, and another process's deletions are seen at
once. Real LanceDB, the real embedding model, real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from pathlib import Path
from typing import Any

import pytest

from indexer.config import ChunkingSettings, DirectorySourceConfig
from indexer.rows import row_shape
from indexer.sample import SAMPLE_DIR
from tests.conftest import write
from tests.test_source_web import Page, Site, site  # noqa: F401 - the loopback site fixture
from tests.test_sync import EXPENSES, LEAVE, _bump, _rows

WIFI = "Office wifi password rotates every Monday.\n"


@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    root = tmp_path / "handbook"
    write(root, "people/leave.md", LEAVE)
    write(root, "finance/expenses.md", EXPENSES)
    write(root, "notes.txt", WIFI)
    return root


def _source(root: Path, name: str = "hb", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "directory", "path": str(root),
            "url": "https://git.example/hb/blob/main/{path}", **extra}


def _paths(index: Any, query: str, audiences: list[str] | None = None,
           sources: list[str] | None = None) -> set[str]:
    hits = index.retriever().search(query, k=10, audiences=audiences, sources=sources)
    return {h.doc_id for h in hits}


# -- 1. a source's configuration applies at the next plain sync ---------------------------

def test_source_audience_change_applies_at_next_incremental_sync_without_reembedding(
        handbook: Path, make_index: Any) -> None:
    make_index([_source(handbook)]).sync()
    restricted = make_index([_source(handbook, audience=["hr"])])  # the admin edits the config
    report = restricted.sync().reports[0]
    assert report.reshaped == 3 and report.chunks_embedded == 0  # vectors reused by hash
    assert (report.updated, report.unchanged, report.failed) == (0, 3, 0)  # no "changed"
    assert {tuple(r["audience"]) for r in _rows(restricted)} == {("hr",)}
    assert not _paths(restricted, "annual leave days")  # outsiders: nothing
    assert "hb:people/leave.md" in _paths(restricted, "annual leave days", ["hr"])
    again = restricted.sync().summary()  # once re-derived, a sync is a no-op again
    assert (again["unchanged"], again["chunks_embedded"]) == (3, 0)
    assert restricted.sync().reports[0].reshaped == 0


def test_url_template_change_relinks_rows_at_next_incremental_sync(
        handbook: Path, make_index: Any) -> None:
    make_index([_source(handbook)]).sync()
    moved = make_index([_source(handbook, url="https://docs.example/{path}")])
    assert moved.sync().summary()["chunks_embedded"] == 0
    assert {r["url"].split("#")[0] for r in _rows(moved)} == {
        "https://docs.example/people/leave.md", "https://docs.example/finance/expenses.md",
        "https://docs.example/notes.txt"}


class _FutureSourceConfig(DirectorySourceConfig):
    some_future_key: int = 0  # a key added later, by someone who forgot the fingerprint


def test_row_shape_covers_what_shapes_rows_and_ignores_what_does_not(tmp_path: Path) -> None:
    base = _FutureSourceConfig(name="hb", type="directory", path=tmp_path)
    chunking, model = ChunkingSettings(), "all-minilm-l6-v2"
    shape = row_shape(base, chunking, model)
    for changed in ({"audience": ["hr"]}, {"url": "https://x/{path}"}, {"path": tmp_path / "b"},
                    {"some_future_key": 1}):  # an unknown key is assumed to shape rows
        other = base.model_copy(update=changed)
        assert row_shape(other, chunking, model) != shape, changed
    assert row_shape(base, ChunkingSettings(max_tokens=128), model) != shape
    assert row_shape(base, ChunkingSettings(strip_patterns=["x"]), model) != shape
    assert row_shape(base, chunking, "bge-small") != shape
    for same in ({"schedule": "1h"}, {"exclude": ["drafts/**"]}):
        other = base.model_copy(update=same)
        assert row_shape(other, chunking, model) == shape, same
    reordered = base.model_copy(update={"audience": ["b", "a"]})
    assert row_shape(reordered, chunking, model) == row_shape(
        base.model_copy(update={"audience": ["a", "b"]}), chunking, model)


def test_web_source_audience_change_applies_even_when_pages_answer_304(
        site: Site, make_index: Any) -> None:  # noqa: F811
    site.pages["/policies/leave.html"] = Page(
        b"<h1>Leave</h1><p>Everyone gets 25 days of paid annual leave.</p>", etag='"v1"')
    web = {"name": "intranet", "type": "web", "urls": [f"{site.base}/policies/leave.html"],
           "allow_private_network": True}  # the test site is on 127.0.0.1
    make_index([web]).sync()
    restricted = make_index([{**web, "audience": ["hr"]}])
    summary = restricted.sync().summary()
    assert summary["chunks_embedded"] == 0 and summary["failed"] == 0
    assert "if-none-match" not in site.last_headers("/policies/leave.html")  # a full GET
    assert {tuple(r["audience"]) for r in _rows(restricted)} == {("hr",)}
    assert not _paths(restricted, "annual leave")
    restricted.sync()  # and the next sync is a cheap conditional GET again
    assert site.last_headers("/policies/leave.html")["if-none-match"] == '"v1"'


def test_configured_audience_backstop_hides_stale_rows_before_any_sync(
        handbook: Path, make_index: Any) -> None:
    make_index([_source(handbook)]).sync()  # rows written public
    restricted = make_index([_source(handbook, audience=["hr"])])  # not synced yet
    assert {tuple(r["audience"]) for r in _rows(restricted)} == {()}  # the rows are stale
    assert not _paths(restricted, "annual leave days")
    assert not _paths(restricted, "annual leave days", ["managers"], sources=["hb"])
    assert "hb:people/leave.md" in _paths(restricted, "annual leave days", ["hr"])


# -- 3. a source removed from the config ---------------------------------------------------

def test_removed_source_never_answers_and_is_pruned_at_next_sync(
        handbook: Path, tmp_path: Path, make_index: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    other = tmp_path / "legal"
    write(other, "nda.md", "# NDA\n\nEvery contractor signs the NDA before day one.\n")
    write(other, "ip.md", "# IP\n\nWork made on company time belongs to the company.\n")
    make_index([_source(handbook), _source(other, name="legal")]).sync()
    kept = make_index([_source(handbook)])
    assert not any(d.startswith("legal:") for d in _paths(kept, "contractor NDA"))
    assert not _paths(kept, "contractor NDA", sources=["legal"])
    with caplog.at_level(logging.WARNING, logger="indexer.index"):
        result = kept.sync(["hb"])  # even a sync of another source prunes it
    assert result.summary()["deleted"] == 2
    pruned = next(r for r in result.reports if r.source == "legal")
    assert pruned.changes == {"legal:ip.md": "deleted", "legal:nda.md": "deleted"}
    assert not _rows(kept, "source = 'legal'") and _rows(kept, "source = 'hb'")
    assert "legal is no longer configured" in caplog.text
    assert kept.sync().summary()["deleted"] == 0


# -- 4. a broken edit never keeps less restricted rows ------------------------------------

def test_unparsable_edit_that_may_add_an_audience_drops_the_documents_public_rows(
        handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)])
    index.sync()
    assert "hb:people/leave.md" in _paths(index, "annual leave days")
    _bump(handbook / "people/leave.md", LEAVE.replace(
        "title: Annual leave", "title: [Annual leave\naudience: [managers]"))
    result = index.sync()
    report = result.reports[0]
    assert report.failed == 1 and result.summary()["deleted"] == 1
    assert "indexed rows were removed" in dict(report.failures)["people/leave.md"]
    assert report.changes == {"hb:people/leave.md": "deleted"}
    assert not _rows(index, "path = 'people/leave.md'")
    assert "hb:people/leave.md" not in _paths(index, "annual leave days")
    assert index.state.failures("hb")[0][0] == "people/leave.md"  # shown by `status`
    _bump(handbook / "people/leave.md", LEAVE.replace(  # fixed: indexed as it says
        "title: Annual leave", "title: Annual leave\naudience: [managers]"))
    assert index.sync().summary()["added"] == 1
    assert {tuple(r["audience"]) for r in _rows(index, "path = 'people/leave.md'")} == {
        ("managers",)}


def test_unparsable_edit_of_a_format_without_audience_keeps_its_last_good_rows(
        tmp_path: Path, make_index: Any) -> None:
    root = tmp_path / "hb"
    root.mkdir()
    shutil.copy(SAMPLE_DIR / "people/learning-and-development.docx", root / "ld.docx")
    index = make_index([_source(root)])
    index.sync()
    good = len(_rows(index, "path = 'ld.docx'"))
    assert good > 0
    (root / "ld.docx").write_bytes(b"PK\x03\x04 truncated upload")
    report = index.sync().reports[0]
    assert report.failed == 1 and report.deleted == 0
    assert "last good version stays" in dict(report.failures)["ld.docx"]
    assert len(_rows(index, "path = 'ld.docx'")) == good
    # The same broken file while its source becomes restricted: the old public rows
    # would be wider than the new intent, so they go.
    restricted = make_index([_source(root, audience=["hr"])])
    report = restricted.sync().reports[0]
    assert report.failed == 1 and report.deleted == 1
    assert not _rows(restricted, "path = 'ld.docx'")


# -- 15. web documents are versioned by what they say --------------------------------------

def _page(nonce: str, text: str = "Everyone gets 25 days of paid annual leave.") -> Page:
    return Page(f'<html><head><meta name="csrf-token" content="{nonce}"></head><body>'
                f'<form><input type="hidden" name="csrf" value="{nonce}"></form>'
                f"<main><h1>Leave</h1><p>{text}</p></main></body></html>".encode())


def test_dynamic_web_page_is_not_a_new_version_on_every_sync(
        site: Site, make_index: Any) -> None:  # noqa: F811
    site.pages["/policies/leave.html"] = _page("nonce-1")
    web = {"name": "intranet", "type": "web", "urls": [f"{site.base}/policies/leave.html"],
           "allow_private_network": True}  # the test site is on 127.0.0.1
    index = make_index([web])
    index.sync()
    (first,) = {r["doc_version"] for r in _rows(index)}
    for nonce in ("nonce-2", "nonce-3"):
        site.pages["/policies/leave.html"] = _page(nonce)
        report = index.sync().reports[0]
        assert (report.updated, report.unchanged, report.changes) == (0, 1, {})
        assert {r["doc_version"] for r in _rows(index)} == {first}
    site.pages["/policies/leave.html"] = _page("nonce-4", "Everyone gets 27 days.")
    report = index.sync().reports[0]
    assert report.updated == 1 and list(report.changes) == ["intranet:policies/leave.html"]
    assert {r["doc_version"] for r in _rows(index)} != {first}


# -- 18. another process's deletion is seen by the next search ----------------------------

def _sync_in_another_process(home: str, root: str) -> None:
    from indexer.config import load_settings
    from indexer.index import PolicyIndex

    PolicyIndex(load_settings(home=home, sources=[_source(Path(root))])).sync()


def test_deletion_by_another_process_is_seen_by_the_next_search(
        handbook: Path, make_index: Any) -> None:
    index = make_index([_source(handbook)])
    index.sync()
    retriever = index.retriever()  # the bot's long-lived handle
    assert "hb:notes.txt" in {p.doc_id for p in retriever.search("wifi password", k=10)}
    (handbook / "notes.txt").unlink()
    proc = multiprocessing.get_context("spawn").Process(
        target=_sync_in_another_process, args=(str(index.settings.home), str(handbook)))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 0
    assert "hb:notes.txt" not in {p.doc_id for p in retriever.search("wifi password", k=10)}
