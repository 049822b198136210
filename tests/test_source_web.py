"""WebSource against a real loopback HTTP server: robots.txt, sitemaps, conditional GETs,
media types, failures and the in-flight limit. Every request is recorded by the server."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from indexer.config import WebSourceConfig
from indexer.documents import DocumentRef, RawDocument
from indexer.errors import SourceError
from indexer.sources.web import WebSource

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class Page:
    body: bytes = b"<h1>Policy</h1>"
    ctype: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    location: str | None = None


class Site:
    """What the server serves, and what it saw: requests and the most in flight at once."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.requests]

    def last_headers(self, path: str) -> dict[str, str]:
        with self.lock:
            return [headers for p, headers in self.requests if p == path][-1]

    def sitemap(self, path: str, pages: list[str]) -> None:
        urls = "".join(f"<url><loc>{self.base}{p}</loc><lastmod>2020-01-01</lastmod></url>"
                       for p in pages)
        self.pages[path] = Page(
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + urls.encode() + b"</urlset>", "application/xml")

    def sitemap_index(self, path: str, sitemaps: list[str]) -> None:
        entries = "".join(f"<sitemap><loc>{self.base}{p}</loc></sitemap>" for p in sitemaps)
        self.pages[path] = Page(
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + entries.encode() + b"</sitemapindex>", "application/xml")


class Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        with site.lock:
            site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            site.in_flight += 1
            site.max_in_flight = max(site.max_in_flight, site.in_flight)
        page = site.pages.get(self.path) or site.pages.get(self.path.split("?")[0])
        if page is not None and page.delay:
            time.sleep(page.delay)
        # Counted as finished before the reply is written, so the client cannot start its
        # next request while this one still counts: the observed maximum is never inflated.
        with site.lock:
            site.in_flight -= 1
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
            self._reply(page)

    def _reply(self, page: Page | None) -> None:
        if page is None:
            page = Page(b"not found", "text/plain", status=404)
        inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        fresh = (page.etag is not None and inm == page.etag) or (
            page.last_modified is not None and ims == page.last_modified)
        status, body = (304, b"") if fresh else (page.status, page.body)
        self.send_response(status)
        self.send_header("Content-Type", page.ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (("ETag", page.etag), ("Last-Modified", page.last_modified),
                            ("Location", page.location)):
            if value is not None:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    s = Site(f"http://127.0.0.1:{server.server_address[1]}")
    server.site = s  # type: ignore[attr-defined]
    s.pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /private/\n", "text/plain")
    s.pages["/policies/leave.html"] = Page(b"<h1>Leave</h1>", etag='"v1"')
    s.pages["/policies/travel.html"] = Page(b"<h1>Travel</h1>", last_modified=LAST_MODIFIED)
    s.pages["/private/secret.html"] = Page(b"<h1>Secret</h1>")
    s.pages["/search"] = Page(b"<h1>Results</h1>")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield s
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def make() -> Iterator[Callable[..., WebSource]]:
    sources: list[WebSource] = []

    def build(**kw: object) -> WebSource:
        kw.setdefault("allow_private_network", True)  # the test site is on 127.0.0.1
        source = WebSource(WebSourceConfig(name="intranet", type="web", **kw))
        sources.append(source)
        return source

    yield build
    for source in sources:
        source.close()


def test_urls_get_relative_paths_and_robots_disallowed_page_is_never_requested(site, make):
    src = make(urls=[f"{site.base}/policies/leave.html", f"{site.base}/private/secret.html",
                     f"{site.base}/search?id=5#top"], user_agent="PolicyBotTest/1.0")
    refs = src.list()
    assert refs == [DocumentRef("policies/leave.html"), DocumentRef("search?id=5")]
    assert all(ref.version is None for ref in refs)
    assert "/private/secret.html" not in site.paths()
    assert site.paths() == ["/robots.txt"]
    assert site.last_headers("/robots.txt")["user-agent"] == "PolicyBotTest/1.0"
    assert src.default_url("search?id=5", "v") == f"{site.base}/search?id=5"
    assert src.link("policies/leave.html", "v", "rules") == \
        f"{site.base}/policies/leave.html#rules"
    with pytest.raises(SourceError, match="robots.txt"):
        src.read(DocumentRef("private/secret.html"))
    assert "/private/secret.html" not in site.paths()


def test_robots_ignored_when_disabled_and_missing_robots_allows_all(site, make):
    urls = [f"{site.base}/private/secret.html"]
    assert [r.path for r in make(urls=urls, respect_robots=False).list()] == \
        ["private/secret.html"]
    assert site.paths() == []
    del site.pages["/robots.txt"]  # 404
    assert [r.path for r in make(urls=urls).list()] == ["private/secret.html"]


def test_failing_robots_allows_all_with_a_warning(site, make, caplog):
    site.pages["/robots.txt"] = Page(b"oops", "text/plain", status=500)
    with caplog.at_level(logging.WARNING):
        refs = make(urls=[f"{site.base}/private/secret.html"]).list()
    assert [r.path for r in refs] == ["private/secret.html"]
    assert "robots.txt" in caplog.text


def test_sitemap_index_is_followed_and_filtered_by_globs(site, make):
    site.sitemap("/sitemap-a.xml", ["/policies/leave.html", "/private/secret.html"])
    site.sitemap("/sitemap-b.xml", ["/policies/travel.html", "/drafts/new.html",
                                    "/policies/leave.html"])
    site.sitemap_index("/nested.xml", ["/sitemap-b.xml", "/sitemap.xml"])  # a cycle too
    site.sitemap_index("/sitemap.xml", ["/sitemap-a.xml", "/nested.xml"])
    src = make(sitemap=f"{site.base}/sitemap.xml")
    assert [r.path for r in src.list()] == ["policies/leave.html", "policies/travel.html",
                                            "drafts/new.html"]
    assert src.urls["drafts/new.html"] == f"{site.base}/drafts/new.html"
    src = make(sitemap=f"{site.base}/sitemap.xml", include=["policies/*", "drafts/*"],
               exclude=["*travel*"])
    assert [r.path for r in src.list()] == ["policies/leave.html", "drafts/new.html"]
    assert "/private/secret.html" not in site.paths()


def test_urls_and_sitemap_combine_and_other_hosts_are_prefixed(site, make):
    site.sitemap("/sitemap.xml", ["/policies/travel.html"])
    other = site.base.replace("127.0.0.1", "localhost")
    src = make(urls=[f"{site.base}/policies/leave.html", f"{other}/b.html", f"{site.base}/"],
               sitemap=f"{site.base}/sitemap.xml", respect_robots=False)
    host = other.removeprefix("http://")
    assert [r.path for r in src.list()] == ["policies/leave.html", f"{host}/b.html", "/",
                                            "policies/travel.html"]
    fresh = make(urls=[f"{site.base}/x.html", f"{other}/b.html"])  # nothing listed yet
    assert fresh.default_url(f"{host}/b.html", "v") == f"{other}/b.html"
    assert fresh.default_url("policies/leave.html", "v") == f"{site.base}/policies/leave.html"
    assert fresh.default_url("/", "v") == f"{site.base}/"


@pytest.mark.parametrize("body,ctype,reason", [
    (b"<urlset><url><loc>http://x/a</loc></url>", "application/xml", "malformed XML"),
    (b"<html><body>hi</body></html>", "text/html", "not a sitemap"),
    (b"gone", "text/plain", "HTTP 404"),
])
def test_bad_sitemap_raises_source_error(site, make, body, ctype, reason):
    status = 404 if reason == "HTTP 404" else 200
    site.pages["/sitemap.xml"] = Page(body, ctype, status=status)
    with pytest.raises(SourceError, match=reason) as err:
        make(sitemap=f"{site.base}/sitemap.xml").list()
    assert f"{site.base}/sitemap.xml" in str(err.value)


def test_unreachable_sitemap_and_too_deep_index_raise(site, make):
    for i in range(6):
        site.sitemap_index(f"/deep{i}.xml", [f"/deep{i + 1}.xml"])
    with pytest.raises(SourceError, match="deeper"):
        make(sitemap=f"{site.base}/deep0.xml").list()
    with pytest.raises(SourceError, match="sitemap http://127.0.0.1:1/sitemap.xml"):
        make(sitemap="http://127.0.0.1:1/sitemap.xml", timeout_s=2).list()


def test_etag_conditional_get(site, make):
    src = make(urls=[f"{site.base}/policies/leave.html"])
    ref = src.list()[0]
    doc = src.read(ref)
    assert isinstance(doc, RawDocument)
    assert (doc.version, doc.media_type, doc.content) == ('"v1"', "html", b"<h1>Leave</h1>")
    assert doc.url == f"{site.base}/policies/leave.html"
    assert "if-none-match" not in site.last_headers("/policies/leave.html")
    assert src.read(ref, '"v1"') is None
    assert site.last_headers("/policies/leave.html")["if-none-match"] == '"v1"'
    site.pages["/policies/leave.html"] = Page(b"<h1>Leave v2</h1>", etag='W/"v2"')
    doc = src.read(ref, '"v1"')
    assert doc is not None and doc.version == 'W/"v2"' and doc.content == b"<h1>Leave v2</h1>"
    assert src.read(ref, 'W/"v2"') is None
    assert site.last_headers("/policies/leave.html")["if-none-match"] == 'W/"v2"'


def test_last_modified_conditional_get(site, make):
    src = make(urls=[f"{site.base}/policies/travel.html"])
    ref = src.list()[0]
    doc = src.read(ref)
    assert doc is not None and doc.version == f"lm:{LAST_MODIFIED}"
    assert src.read(ref, doc.version) is None
    headers = site.last_headers("/policies/travel.html")
    assert headers["if-modified-since"] == LAST_MODIFIED and "if-none-match" not in headers


def test_digest_version_when_no_validators(site, make):
    src = make(urls=[f"{site.base}/search"])
    ref = src.list()[0]
    doc = src.read(ref)
    assert doc is not None
    assert doc.version == "sha256:" + hashlib.sha256(b"<h1>Results</h1>").hexdigest()
    assert src.read(ref, doc.version) is None
    headers = site.last_headers("/search")
    assert "if-none-match" not in headers and "if-modified-since" not in headers
    site.pages["/search"] = Page(b"<h1>New results</h1>")
    changed = src.read(ref, doc.version)
    assert changed is not None and changed.version != doc.version


@pytest.mark.parametrize("path,ctype,expected", [
    ("/handbook/intro.md", "text/plain; charset=utf-8", "markdown"),
    ("/guide", "text/markdown", "markdown"),
    ("/guide2", "text/x-markdown", "markdown"),
    ("/notes.txt", "text/plain", "text"),
    ("/policy.pdf", "application/pdf", "pdf"),
    ("/policy.docx", DOCX, "docx"),
    ("/page", "text/html; charset=iso-8859-1", "html"),
])
def test_media_type_from_content_type(site, make, path, ctype, expected):
    site.pages[path] = Page(b"content", ctype)
    src = make(urls=[site.base + path])
    doc = src.read(src.list()[0])
    assert doc is not None and doc.media_type == expected


def test_errors_unsupported_type_500_and_redirect(site, make):
    site.pages["/logo.png"] = Page(b"\x89PNG", "image/png")
    site.pages["/broken.html"] = Page(b"boom", status=500)
    site.pages["/old.html"] = Page(b"", status=301, location="/policies/leave.html")
    src = make(urls=[f"{site.base}/logo.png", f"{site.base}/broken.html",
                     f"{site.base}/old.html"])
    logo, broken, old = src.list()
    with pytest.raises(SourceError, match="unsupported content type 'image/png'"):
        src.read(logo)
    with pytest.raises(SourceError, match="500") as err:
        src.read(broken)
    assert f"{site.base}/broken.html" in str(err.value)
    doc = src.read(old)
    assert doc is not None and doc.path == "old.html"
    assert doc.url == f"{site.base}/policies/leave.html" and doc.version == '"v1"'


def test_timeout_raises_quickly(site, make):
    site.pages["/slow.html"] = Page(b"late", delay=1.5)
    src = make(urls=[f"{site.base}/slow.html"], timeout_s=0.3, respect_robots=False)
    started = time.monotonic()
    with pytest.raises(SourceError, match="timed out") as err:
        src.read(src.list()[0])
    assert time.monotonic() - started < 1.2
    assert f"{site.base}/slow.html" in str(err.value)


def test_read_many_never_exceeds_concurrency(site, make):
    for i in range(8):
        site.pages[f"/p{i}.html"] = Page(f"<p>{i}</p>".encode(), delay=0.2)
    site.pages["/p3.html"].status = 500
    src = make(urls=[f"{site.base}/p{i}.html" for i in range(8)], concurrency=2)
    refs = src.list()
    results = dict(src.read_many([(ref, None) for ref in refs]))
    assert set(results) == set(refs)
    assert isinstance(results[DocumentRef("p3.html")], SourceError)
    assert all(isinstance(results[r], RawDocument) for r in refs if r.path != "p3.html")
    assert 1 < site.max_in_flight <= 2
