"""The contract every registered source type passes: one suite, run against each of them.

A source type is in :data:`indexer.sources.SOURCE_TYPES`; each gets a harness below that
changes its documents the way that type's documents change (files written, commits made,
pages served from 127.0.0.1), and the same tests prove what the sync relies on: listing,
versions, reading (one and many), links, failures and deletions. A new source type adds
a harness here; ``test_every_registered_source_type_has_a_harness`` fails until it does.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit
from urllib.request import url2pathname

import httpx
import pytest

from indexer.config import SOURCE_CONFIGS, load_settings
from indexer.documents import DocumentRef, RawDocument
from indexer.errors import ConfigError, SourceError
from indexer.sources import SOURCE_TYPES, Source, build_source
from tests.conftest import write
from tests.test_source_git import _git_identity, commit, new_repo  # noqa: F401
from tests.test_source_web import Handler, Page, Site

DOCS = {
    "policies/leave.md": "# Leave\n\nEmployees get twenty-five days of annual leave.\n",
    "policies/travel.txt": "Travel\n\nBook economy class for flights under six hours.\n",
    "policies/conduct.html": "<h1>Conduct</h1><p>Be kind to colleagues.</p>",
}
MEDIA = {"policies/leave.md": "markdown", "policies/travel.txt": "text",
         "policies/conduct.html": "html"}


class Harness:
    """One source type's documents, changed the way that type's documents change."""

    kind: str

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def put(self, files: dict[str, str]) -> None:
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def break_listing(self) -> None:
        """Make the whole source unlistable (the folder, repository or sitemap gone)."""
        raise NotImplementedError


class DirectoryHarness(Harness):
    kind = "directory"

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "docs"
        self.root.mkdir()

    def config(self) -> dict[str, Any]:
        return {"type": "directory", "path": str(self.root)}

    def put(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            write(self.root, rel, text)

    def remove(self, path: str) -> None:
        (self.root / path).unlink()

    def break_listing(self) -> None:
        shutil.rmtree(self.root)


class GitHarness(Harness):
    kind = "git"

    def __init__(self, tmp: Path) -> None:
        self.repo = new_repo(tmp / "repo")

    def config(self) -> dict[str, Any]:
        return {"type": "git", "repo": str(self.repo)}

    def put(self, files: dict[str, str]) -> None:
        commit(self.repo, "edit", dict(files))

    def remove(self, path: str) -> None:
        commit(self.repo, "remove", {path: None})

    def break_listing(self) -> None:
        shutil.rmtree(self.repo)


CONTENT_TYPES = {".md": "text/markdown", ".txt": "text/plain; charset=utf-8",
                 ".html": "text/html; charset=utf-8"}


class WebHarness(Harness):
    """Pages on a real HTTP server on 127.0.0.1, listed by a sitemap kept current. Pages
    carry an ETag except plain text, so both conditional GETs and digests are covered."""

    kind = "web"

    def __init__(self, site: Site) -> None:
        self.site = site
        self.docs: list[str] = []
        self._sitemap()

    def _sitemap(self) -> None:
        self.site.sitemap("/sitemap.xml", [f"/{p}" for p in self.docs])

    def config(self) -> dict[str, Any]:
        return {"type": "web", "sitemap": f"{self.site.base}/sitemap.xml",
                "allow_private_network": True}

    def put(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            body = text.encode()
            suffix = Path(rel).suffix
            etag = None if suffix == ".txt" else f'"{hashlib.sha256(body).hexdigest()[:12]}"'
            self.site.pages[f"/{rel}"] = Page(body, CONTENT_TYPES[suffix], etag=etag)
            if rel not in self.docs:
                self.docs.append(rel)
        self._sitemap()

    def remove(self, path: str) -> None:
        del self.site.pages[f"/{path}"]
        self.docs.remove(path)
        self._sitemap()

    def break_listing(self) -> None:
        self.site.pages["/sitemap.xml"] = Page(b"down", "text/plain", status=500)


@pytest.fixture
def web_site() -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site = Site(f"http://127.0.0.1:{server.server_address[1]}")
    server.site = site  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


HARNESSES: dict[str, Callable[[Path, Any], Harness]] = {
    "directory": lambda tmp, request: DirectoryHarness(tmp),
    "git": lambda tmp, request: GitHarness(tmp),
    "web": lambda tmp, request: WebHarness(request.getfixturevalue("web_site")),
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    return HARNESSES[request.param](tmp_path, request)


@pytest.fixture
def make_source(harness: Harness, tmp_path: Path) -> Iterator[Callable[..., Source]]:
    """Sources built the way the sync builds them: validated settings → the registry."""
    built: list[Source] = []

    def make(**extra: Any) -> Source:
        settings = load_settings(home=tmp_path / "home",
                                 sources=[{"name": "hb", **harness.config(), **extra}])
        source = build_source(settings.sources[0], tmp_path / "home" / "cache")
        built.append(source)
        return source

    yield make
    for source in built:
        source.close()


def listing(source: Source) -> dict[str, DocumentRef]:
    refs = list(source.list())
    assert len({r.path for r in refs}) == len(refs), "a path listed twice"
    return {r.path: r for r in refs}


def read(source: Source, ref: DocumentRef, previous: str | None = None) -> RawDocument:
    raw = source.read(ref, previous)
    assert raw is not None, f"{ref.path}: read without a previous version gave None"
    return raw


def still_current(source: Source, ref: DocumentRef, stored: str) -> bool:
    """What the sync decides: the listed version says so, or the source's read does."""
    if ref.version is not None:
        return ref.version == stored
    return source.read(ref, stored) is None


def open_link(link: str) -> bytes:
    """What a reader clicking a citation gets: the file, or the page."""
    url = urldefrag(link)[0]
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path)).read_bytes()
    return httpx.get(url, timeout=5).content


# -- the registry -----------------------------------------------------------------------

def test_every_registered_source_type_has_settings_and_a_harness() -> None:
    assert set(SOURCE_TYPES) == set(SOURCE_CONFIGS) == set(HARNESSES)


def test_an_unknown_source_type_is_a_configuration_error_naming_the_allowed_types(
        tmp_path: Path) -> None:
    config = SOURCE_CONFIGS["directory"].model_construct(name="hr", type="sharepoint",
                                                        path=tmp_path)
    with pytest.raises(ConfigError, match=r"'hr'.*unknown source type 'sharepoint'; "
                                          r"allowed types: directory, git, web"):
        build_source(config, tmp_path / "cache")


# -- the contract -------------------------------------------------------------------------

def test_declares_the_whole_protocol_and_closes_twice(harness: Harness, make_source) -> None:
    harness.put(DOCS)
    source = make_source()
    assert isinstance(source, Source)
    assert source.name == "hb" and source.audience == []
    listing(source)
    assert source.skipped == []
    source.close()
    source.close()  # the sync's finally and a context manager may both close


def test_lists_every_document_once_by_its_path(harness: Harness, make_source) -> None:
    harness.put(DOCS)
    assert set(listing(make_source())) == set(DOCS)


def test_reads_each_document_as_written_with_its_media_type(harness: Harness,
                                                             make_source) -> None:
    harness.put(DOCS)
    source = make_source()
    for path, ref in listing(source).items():
        raw = read(source, ref)
        assert (raw.path, raw.content, raw.media_type) == (path, DOCS[path].encode(),
                                                          MEDIA[path])
        assert raw.version


def test_an_unchanged_document_stays_current(harness: Harness, make_source) -> None:
    harness.put(DOCS)
    source = make_source()
    stored = {p: read(source, ref).version for p, ref in listing(source).items()}
    again = make_source()  # a later sync builds a new source
    for path, ref in listing(again).items():
        assert still_current(again, ref, stored[path]), path


def test_an_edited_document_gets_a_new_version_and_its_new_bytes(harness: Harness,
                                                                  make_source) -> None:
    harness.put(DOCS)
    source = make_source()
    stored = {p: read(source, ref).version for p, ref in listing(source).items()}
    edited = "policies/travel.txt"
    text = DOCS[edited] + "Trains are preferred under four hours.\n"
    harness.put({edited: text})
    later = make_source()
    refs = listing(later)
    assert not still_current(later, refs[edited], stored[edited])
    raw = read(later, refs[edited], stored[edited])
    assert raw.content == text.encode() and raw.version != stored[edited]
    assert all(still_current(later, refs[p], stored[p]) for p in DOCS if p != edited)


def test_read_many_gives_every_document_once_and_failures_as_values(harness: Harness,
                                                                    make_source) -> None:
    harness.put(DOCS)
    source = make_source()
    refs = list(listing(source).values())
    missing = DocumentRef("policies/missing.md", "0")
    results = list(source.read_many([(r, None) for r in refs] + [(missing, None)]))
    got = {ref.path: result for ref, result in results}
    assert len(results) == len(got) == len(DOCS) + 1
    assert isinstance(got.pop(missing.path), SourceError)
    assert {p: r.content for p, r in got.items() if isinstance(r, RawDocument)} == \
        {p: t.encode() for p, t in DOCS.items()}


def test_a_document_that_cannot_be_read_is_a_source_error(harness: Harness,
                                                          make_source) -> None:
    harness.put(DOCS)
    source = make_source()
    listing(source)
    with pytest.raises(SourceError):
        source.read(DocumentRef("policies/missing.md", "0"))


def test_a_source_that_cannot_be_listed_is_a_source_error(harness: Harness,
                                                          make_source) -> None:
    harness.put(DOCS)
    listing(make_source())  # worked once (a git source has its mirror by now)
    harness.break_listing()
    with pytest.raises(SourceError):
        listing(make_source())


def test_a_deleted_document_is_no_longer_listed(harness: Harness, make_source) -> None:
    harness.put(DOCS)
    listing(make_source())
    harness.remove("policies/leave.md")
    assert set(listing(make_source())) == set(DOCS) - {"policies/leave.md"}


def test_links_follow_the_url_template_with_the_anchor(harness: Harness, make_source) -> None:
    harness.put(DOCS)
    source = make_source(url="https://docs.example.com/{path}?v={version}")
    assert source.link("policies/sick leave.md", "v7", "how-to-report") == \
        "https://docs.example.com/policies/sick%20leave.md?v=v7#how-to-report"


def test_the_default_link_opens_the_document(harness: Harness, make_source) -> None:
    harness.put(DOCS)
    source = make_source()
    for path, ref in listing(source).items():
        version = read(source, ref).version
        link = source.link(path, version, "section-1")
        assert link.endswith("#section-1")
        assert open_link(link) == DOCS[path].encode(), link


def test_a_sync_adds_updates_keeps_and_prunes(harness: Harness, make_index) -> None:
    """The same documents, the same counts, whichever kind of source holds them."""
    harness.put(DOCS)
    index = make_index([{"name": "hb", **harness.config()}])
    first = index.sync().reports[0]
    assert (first.status, first.added) == ("ok", len(DOCS))
    harness.put({"policies/leave.md": DOCS["policies/leave.md"] + "Carry over five days.\n"})
    harness.remove("policies/conduct.html")
    second = index.sync().reports[0]
    assert (second.added, second.updated, second.unchanged, second.deleted) == (0, 1, 1, 1)
    third = index.sync().reports[0]
    assert (third.added, third.updated, third.unchanged, third.deleted) == (0, 0, 2, 0)
