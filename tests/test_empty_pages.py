"""A redirect-only page is reported as empty, with where it points, on the first sync
and every one after (never as "unchanged"), and `policybot status` lists it. Real
loopback web server, real index, real state database (migrated to 0004_sync_empty)."""

from __future__ import annotations

from bot.cli.render import status as render_status
from indexer.status import index_status
from tests.test_source_web import Page, site  # noqa: F401

REDIRECT = (b'<html><head><title>Moved</title>'
            b'<meta http-equiv="refresh" content="0; url=/policies/leave.html"></head>'
            b"<body></body></html>")


def test_redirect_only_page_is_reported_empty_with_its_target_and_listed_in_status(
        site, make_index):  # noqa: F811
    site.pages["/policies/leave.html"] = Page(
        b"<h1>Leave</h1><p>Everyone gets twenty-five days of annual leave.</p>")
    site.pages["/old-leave.html"] = Page(REDIRECT)
    index = make_index([{"name": "intranet", "type": "web", "allow_private_network": True,
                         "urls": [f"{site.base}/policies/leave.html",
                                  f"{site.base}/old-leave.html"]}])
    for _ in range(2):  # the first sync and the next one say the same
        (report,) = index.sync().reports
        assert (report.added + report.unchanged, report.empty, report.failed) == (1, 1, 0)
        assert report.status == "ok"
        assert report.empties == [("old-leave.html", "redirect-only page (to "
                                   "/policies/leave.html): no text to index")]
    info = index_status(index)
    (source,) = info["sources"]
    assert source["last_sync"]["empty"] == 1
    assert source["last_sync"]["empties"] == report.empties
    assert source["last_sync"]["failures"] == []
    text = render_status(info)
    assert ("empty old-leave.html: redirect-only page (to /policies/leave.html): "
            "no text to index") in text


def test_a_markdown_redirect_stub_is_empty_with_its_target(tmp_path, make_index):
    from tests.conftest import write

    write(tmp_path / "docs", "old.md", "---\ntitle: Old\nredirect_to: /new/\n---\n")
    write(tmp_path / "docs", "new.md", "# New\n\nThe new policy text.\n")
    index = make_index([{"name": "hb", "type": "directory", "path": str(tmp_path / "docs")}])
    (report,) = index.sync().reports
    assert (report.added, report.unchanged, report.empty) == (1, 0, 1)
    assert report.empties == [("old.md", "redirect-only page (to /new/): no text to index")]
    # The next sync, nothing changed: still reported empty, and nothing is written. (It
    # used to commit an empty delete for the stub: a new table version every sync.)
    version = index.store.table.version
    (report,) = index.sync().reports
    assert (report.added, report.unchanged, report.empty) == (0, 1, 1)
    assert report.empties == [("old.md", "redirect-only page (to /new/): no text to index")]
    index.store.refresh()
    assert index.store.table.version == version


def test_a_generated_redirect_page_with_text_is_empty_not_indexed(site, make_index):  # noqa: F811
    site.pages["/moved.html"] = Page(
        b'<!DOCTYPE html><html lang="en-US"><meta charset="utf-8"><title>Redirecting&hellip;'
        b'</title><meta http-equiv="refresh" content="0; url=/policies/leave.html">'
        b'<h1>Redirecting&hellip;</h1><a href="/policies/leave.html">Click here if you are '
        b"not redirected.</a></html>")
    index = make_index([{"name": "intranet", "type": "web", "allow_private_network": True,
                         "urls": [f"{site.base}/moved.html"]}])
    (report,) = index.sync().reports
    assert (report.added, report.unchanged, report.empty) == (0, 0, 1)
    assert report.empties == [("moved.html", "redirect-only page (to /policies/leave.html): "
                               "no text to index")]
