"""The web source's safety rails, against real HTTP servers on 127.0.0.1: only the
configured hosts are fetched (redirects checked hop by hop, off-list sitemap entries
skipped), loopback/private/link-local addresses are refused after DNS resolution unless
the source opts in, each fetch has a total wall-clock deadline, credentials come only
from ``auth`` + the environment, and no URL that is stored or shown carries user:pass@."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from indexer.config import WebSourceConfig
from indexer.errors import ConfigError, SourceError
from indexer.sources.web_net import refusal
from tests import test_source_web as web_fixtures
from tests.test_source_web import Page, Site

site = web_fixtures.site  # the recording test server on 127.0.0.1
make = web_fixtures.make  # WebSource factory (allow_private_network on, for 127.0.0.1)


def _other(site: Site) -> str:
    """The same test server under another host name."""
    return site.base.replace("127.0.0.1", "localhost")


def test_redirect_to_another_host_is_refused(site, make):
    site.pages["/go.html"] = Page(b"", status=302,
                                  location=f"{_other(site)}/policies/leave.html")
    src = make(urls=[f"{site.base}/go.html"], respect_robots=False)
    with pytest.raises(SourceError, match="refused .*not in the source's hosts") as err:
        src.read(src.list()[0])
    assert f"redirected from {site.base}/go.html" in str(err.value)
    assert "/policies/leave.html" not in site.paths()  # the other host was never asked


def test_redirect_to_127_0_0_1_is_refused_without_the_private_network_opt_in(site, make):
    # A host on the list that redirects to 127.0.0.1: refused as another host, ...
    site.pages["/go.html"] = Page(b"", status=301, location=f"{site.base}/policies/leave.html")
    src = make(urls=[f"{_other(site)}/go.html"], respect_robots=False)
    with pytest.raises(SourceError, match="host '127.0.0.1' is not in the source's hosts"):
        src.read(src.list()[0])
    assert "/policies/leave.html" not in site.paths()
    # ... and listing 127.0.0.1 (by name) without the opt-in is refused after DNS
    # resolution, before any connection: no request reaches the server.
    before = len(site.paths())
    src = make(urls=[f"{_other(site)}/go.html"], hosts=["localhost", "127.0.0.1"],
               respect_robots=False, allow_private_network=False)
    with pytest.raises(SourceError, match="localhost resolves to .*a loopback address.*"
                                          "allow_private_network"):
        src.read(src.list()[0])
    assert len(site.paths()) == before


def test_sitemap_loc_pointing_at_the_metadata_service_is_skipped(site, make, caplog):
    site.pages["/sitemap.xml"] = Page(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://169.254.169.254/latest/meta-data/iam</loc></url>"
        + f"<url><loc>{site.base}/policies/leave.html</loc></url>".encode()
        + f"<url><loc>{_other(site)}/elsewhere.html</loc></url></urlset>".encode(),
        "application/xml")
    src = make(sitemap=f"{site.base}/sitemap.xml", respect_robots=False)
    assert [r.path for r in src.list()] == ["policies/leave.html"]
    assert "169.254.169.254" in caplog.text and "not in the source's hosts" in caplog.text
    # a nested sitemap on another host is not fetched either
    site.sitemap_index("/index.xml", ["/sitemap.xml"])
    site.pages["/index.xml"].body = site.pages["/index.xml"].body.replace(
        site.base.encode(), _other(site).encode())
    assert make(sitemap=f"{site.base}/index.xml", respect_robots=False).list() == []


def test_link_local_address_is_refused_even_with_the_private_network_opt_in(make):
    src = make(urls=["http://169.254.169.254/latest/meta-data/"], respect_robots=False,
               allow_private_network=True, fetch_deadline_s=3)
    with pytest.raises(SourceError, match="169.254.169.254 resolves to 169.254.169.254, "
                                          "a link-local address"):
        src.read(src.list()[0])


@pytest.mark.parametrize("address,private_ok,refused", [
    ("127.0.0.1", False, True), ("::1", False, True), ("10.1.2.3", False, True),
    ("192.168.0.7", False, True), ("172.16.5.5", False, True), ("100.64.0.1", False, True),
    ("::ffff:127.0.0.1", False, True), ("0.0.0.0", True, True),
    ("169.254.169.254", True, True), ("fe80::1", True, True),
    ("127.0.0.1", True, False), ("10.1.2.3", True, False), ("93.184.215.14", False, False),
])
def test_address_policy_refuses_non_public_addresses(address, private_ok, refused):
    assert (refusal(address, private_ok) is not None) is refused


# -- deadline ---------------------------------------------------------------------------

class Trickler:
    """A raw TCP server that answers one byte at a time, forever: in the body (after
    complete headers) or inside the status line and headers themselves."""

    def __init__(self, in_headers: bool) -> None:
        self.in_headers = in_headers
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            if not self.in_headers:
                conn.sendall(head + b"Content-Length: 100000\r\n\r\n")
                head = b"<p>" + b"x" * 100000
            for byte in head * 1000:
                if self.stop.wait(0.1):
                    return
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(params=[False, True], ids=["body", "headers"])
def trickler(request: Any) -> Iterator[Trickler]:
    server = Trickler(request.param)
    yield server
    server.close()


def test_a_trickling_server_is_cut_off_at_the_fetch_deadline(trickler, make):
    src = make(urls=[f"{trickler.base}/slow.html"], respect_robots=False, timeout_s=10,
               fetch_deadline_s=1.0)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"fetch deadline of 1s \(fetch_deadline_s\)") as err:
        src.read(src.list()[0])
    assert time.monotonic() - started < 3  # cut at the deadline; no read ever timed out
    assert f"{trickler.base}/slow.html" in str(err.value)


def test_sync_reports_a_page_past_its_deadline_and_finishes(make_index, site) -> None:
    server = Trickler(in_headers=False)
    try:
        site.pages["/policies/leave.html"] = Page(b"<h1>Leave</h1><p>25 days a year.</p>")
        index = make_index([{"name": "intranet", "type": "web", "respect_robots": False,
                             "allow_private_network": True, "fetch_deadline_s": 3,
                             "hosts": ["127.0.0.1"],
                             "urls": [f"{site.base}/policies/leave.html",
                                      f"{server.base}/slow.html"]}])
        started = time.monotonic()
        report, = index.sync().reports
        assert time.monotonic() - started < 30
    finally:
        server.close()
    assert report.added == 1 and report.failed == 1
    (path, reason), = report.failures
    assert "slow.html" in path and "fetch deadline of 3s" in reason


# -- credentials ----------------------------------------------------------------------

def test_basic_auth_comes_from_the_environment_and_only_goes_to_configured_origins(
        site, make, monkeypatch):
    monkeypatch.setenv("WIKI_PASSWORD", "s3cret-pw")
    site.pages["/go.html"] = Page(b"", status=302, location=f"{_other(site)}/policies/x.html")
    site.pages["/policies/x.html"] = Page(b"<h1>X</h1>")
    src = make(urls=[f"{site.base}/policies/leave.html", f"{site.base}/go.html"],
               hosts=["127.0.0.1", "localhost"], respect_robots=False,
               auth={"type": "basic", "username": "bot", "password_env": "WIKI_PASSWORD"})
    leave, go = src.list()
    assert src.read(leave) is not None
    expected = "Basic " + base64.b64encode(b"bot:s3cret-pw").decode()
    assert site.last_headers("/policies/leave.html")["authorization"] == expected
    assert src.read(go) is not None  # redirected to another origin: no credentials sent
    assert "authorization" not in site.last_headers("/policies/x.html")


def test_bearer_auth_and_a_missing_variable_is_named_not_shown(site, make, monkeypatch):
    monkeypatch.delenv("WIKI_TOKEN", raising=False)
    src = make(urls=[f"{site.base}/policies/leave.html"], respect_robots=False,
               auth={"type": "bearer", "token_env": "WIKI_TOKEN"})
    with pytest.raises(SourceError, match="environment variable WIKI_TOKEN, which is not set"):
        src.list()
    monkeypatch.setenv("WIKI_TOKEN", "tok-123")
    src.read(src.list()[0])
    assert site.last_headers("/policies/leave.html")["authorization"] == "Bearer tok-123"


def test_credentials_in_a_configured_url_are_rejected_without_echoing_them(tmp_path):
    from indexer.config import load_settings

    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "w"\ntype = "web"\n'
                      'urls = ["https://bot:hunter2@wiki.example/a"]\n'
                      '[[sources]]\nname = "d"\ntype = "directory"\npath = "."\n'
                      'url = "https://bot:hunter2@git.example/{path}"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    message = str(err.value)
    assert "use the source's `auth` option" in message
    assert "hunter2" not in message and err.value.__cause__ is None
    with pytest.raises(ValueError, match="credentials"):
        WebSourceConfig(name="w", type="web", sitemap="http://u:p@wiki.example/sitemap.xml")


def test_userinfo_is_stripped_from_every_listed_redirected_and_cited_url(site, make, caplog):
    userinfo_base = site.base.replace("http://", "http://bot:pw-in-url@")
    site.pages["/sitemap.xml"] = Page(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + f"<url><loc>{userinfo_base}/policies/leave.html</loc></url>".encode()
        + f"<url><loc>{userinfo_base}/go.html</loc></url></urlset>".encode(),
        "application/xml")
    site.pages["/go.html"] = Page(b"", status=302, location=f"{userinfo_base}/broken.html")
    site.pages["/broken.html"] = Page(b"boom", status=500)
    src = make(sitemap=f"{site.base}/sitemap.xml", respect_robots=False)
    leave, go = src.list()
    assert src.urls == {"policies/leave.html": f"{site.base}/policies/leave.html",
                        "go.html": f"{site.base}/go.html"}
    doc = src.read(leave)
    assert doc is not None and doc.url == f"{site.base}/policies/leave.html"
    assert src.link(leave.path, "v", "a") == f"{site.base}/policies/leave.html#a"
    with pytest.raises(SourceError) as err:
        src.read(go)
    assert "HTTP 500" in str(err.value) and "pw-in-url" not in str(err.value)
    assert "authorization" not in site.last_headers("/broken.html")
    assert "pw-in-url" not in caplog.text


def test_full_sync_refetches_web_pages_unconditionally_so_old_links_are_rewritten(
        make_index, site) -> None:
    site.pages["/policies/leave.html"] = Page(b"<h1>Leave</h1><p>25 days a year.</p>",
                                              etag='"v1"')
    source = {"name": "intranet", "type": "web", "respect_robots": False,
              "allow_private_network": True, "urls": [f"{site.base}/policies/leave.html"]}
    make_index([source]).sync()
    assert "if-none-match" not in site.last_headers("/policies/leave.html")
    # the citation link changes (as it does when user:pass@ is removed from a source)
    # is a change of the source's shape: the next plain sync re-reads the page whole
    index = make_index([{**source, "url": "https://wiki.example/{path}"}])
    index.sync()
    assert "if-none-match" not in site.last_headers("/policies/leave.html")
    index.sync()  # nothing changed since: a conditional GET, answered with a 304
    assert site.last_headers("/policies/leave.html")["if-none-match"] == '"v1"'
    index.sync(full=True)  # --full never sends a validator
    assert "if-none-match" not in site.last_headers("/policies/leave.html")
    urls = {r["url"] for r in index.store.table.search().limit(None).to_list()}
    assert urls and all(u.startswith("https://wiki.example/policies/leave.html") for u in urls)
