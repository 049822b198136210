"""Web pages as a document source: configured URLs plus sitemaps, fetched politely.

Politeness is robots.txt plus a hard cap of ``concurrency`` requests in flight per
source. Reads are conditional GETs, so an unchanged page costs a 304 and no re-parse.
Safety: only the configured ``hosts`` are fetched (sitemap entries and redirects
elsewhere are skipped or refused), never a loopback/private address unless the source
allows it, each fetch within ``fetch_deadline_s``; credentials come from ``auth`` and
the environment, never from a URL, and no stored or logged URL carries ``user:pass@``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from urllib.parse import urldefrag, urlsplit

from indexer.config import WebSourceConfig
from indexer.dating import HTTP, iso_date
from indexer.documents import DocumentRef, RawDocument
from indexer.errors import SourceError
from indexer.sources.base import BaseSource, ReadResult, matches
from indexer.sources.web_discovery import (
    RobotsRules,
    doc_path,
    host_of,
    origin,
    sitemap_locs,
)
from indexer.sources.web_http import Fetched, Fetcher, media_type, strip_userinfo

log = logging.getLogger(__name__)


class WebSource(BaseSource):
    """Pages listed by ``urls`` and ``sitemap``; paths are relative to the first one's host."""

    def __init__(self, config: WebSourceConfig) -> None:
        seeds = [*config.urls, *([config.sitemap] if config.sitemap else [])]  # validated
        self.config = config
        self.name = config.name
        self.audience = list(config.audience)
        self.url_template = config.url
        self.root = origin(seeds[0])
        self._schemes = {host_of(u): urlsplit(u).scheme for u in seeds}
        self.urls: dict[str, str] = {}  # source-relative path → absolute URL
        self.skipped: list[tuple[str, str]] = []  # pages are filtered, never skipped
        self._fetcher = Fetcher(hosts=config.allowed_hosts,
                                allow_private=config.allow_private_network,
                                user_agent=config.user_agent, timeout_s=config.timeout_s,
                                deadline_s=config.fetch_deadline_s,
                                max_bytes=config.max_file_bytes,
                                concurrency=config.concurrency,
                                auth_origins=frozenset(origin(u) for u in seeds))
        self._robots = RobotsRules(self._robots_txt, config.user_agent)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._fetcher.close()

    def _authorization(self) -> str | None:
        """The Authorization header from ``auth``; its secret is read from the environment
        at each listing, so a rotated token needs no restart. A missing variable fails
        the source, naming the variable (never a value)."""
        auth = self.config.auth
        if auth is None:
            return None
        var = auth.password_env if auth.type == "basic" else auth.token_env
        secret = os.environ.get(var)
        if not secret:
            raise SourceError(f"source {self.name!r}: auth needs the environment variable "
                              f"{var}, which is not set")
        if auth.type == "bearer":
            return f"Bearer {secret}"
        pair = f"{auth.username}:{secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    # -- HTTP -------------------------------------------------------------------------

    def _fetch(self, url: str, headers: dict[str, str] | None = None) -> Fetched:
        return self._fetcher.get(url, headers)

    def _robots_txt(self, url: str) -> tuple[int, str]:
        resp = self._fetch(url)
        return resp.status, resp.body.decode("utf-8", errors="replace")

    def robots_sitemaps(self, url: str) -> list[str]:
        """The sitemaps the robots.txt of ``url``'s site names (``policybot init`` offers
        them), read through this source's fetcher and robots cache."""
        return self._robots.sitemaps(url)

    def _sitemap(self, url: str) -> bytes:
        try:
            resp = self._fetch(url)
        except SourceError as exc:
            raise SourceError(f"sitemap {exc}") from exc
        if not 200 <= resp.status < 300:
            raise SourceError(f"sitemap {url}: HTTP {resp.status} {resp.reason}")
        return resp.body

    # -- Source -----------------------------------------------------------------------

    def list(self) -> list[DocumentRef]:
        """Configured URLs then sitemap pages, filtered by globs and robots.txt.

        Versions stay None: sitemap lastmod is too often wrong to skip a fetch on.
        """
        self._fetcher.auth = self._authorization()
        self._robots.clear()
        candidates = list(self.config.urls)
        if self.config.sitemap:
            candidates += sitemap_locs(self._sitemap, self.config.sitemap,
                                       allowed=self._listable)
        found: dict[str, str] = {}
        for raw in candidates:
            url = strip_userinfo(urldefrag(raw.strip())[0])
            if not self._listable(url):
                continue
            path = doc_path(url, self.root)
            if path in found:
                if found[path] != url:
                    log.warning("%s: %s and %s share the path %r; keeping the first",
                                self.name, found[path], url, path)
                continue
            if not matches(path, self.config.include, self.config.exclude):
                continue
            if self.config.respect_robots and not self._robots.allowed(url):
                log.info("%s: skipping %s: disallowed by robots.txt", self.name, url)
                continue
            found[path] = url
        self.urls = found
        return [DocumentRef(path) for path in found]

    def _listable(self, url: str) -> bool:
        """False (with a warning) for a sitemap entry this source may not fetch."""
        reason = self._fetcher.refusal(url)
        if reason:
            log.warning("%s: skipping %s: %s", self.name, strip_userinfo(url), reason)
        return reason is None

    def default_url(self, path: str, version: str) -> str:
        """The page itself, so citations link to it when no url template is set."""
        if path in self.urls:
            return self.urls[path]
        host = path.partition("/")[0]
        if host in self._schemes and f"{self._schemes[host]}://{host}" != self.root:
            return f"{self._schemes[host]}://{path}"
        return f"{self.root}/{'' if path == '/' else path}"

    def read(self, ref: DocumentRef, previous_version: str | None = None) -> RawDocument | None:
        """Conditional GET; None when the server (or an unchanged digest) says not modified."""
        url = self.default_url(ref.path, ref.version or "")
        if self.config.respect_robots and not self._robots.allowed(url):
            raise SourceError(f"{url}: disallowed by robots.txt")
        prev = previous_version or ""
        headers = {}
        if prev.startswith(('"', "W/")):
            headers["If-None-Match"] = prev
        elif prev.startswith("lm:"):
            headers["If-Modified-Since"] = prev[3:]
        resp = self._fetch(url, headers)
        if resp.status == 304 and headers:
            return None
        if not 200 <= resp.status < 300:
            raise SourceError(f"{url}: HTTP {resp.status} {resp.reason}")
        digest = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        etag, modified = resp.headers.get("etag"), resp.headers.get("last-modified")
        version = etag.strip() if etag else f"lm:{modified.strip()}" if modified else digest
        if prev and prev in (version, digest):
            return None
        return RawDocument(path=ref.path, version=version, content=resp.body,
                           media_type=media_type(resp), url=resp.url,
                           version_from_bytes=version == digest,
                           dated=iso_date(modified.strip()) if modified else None,
                           dated_by=HTTP)

    def read_many(self, refs_and_previous: Sequence[tuple[DocumentRef, str | None]]
                  ) -> Iterator[tuple[DocumentRef, ReadResult]]:
        """Read pages ``concurrency`` at a time; per-page failures come back as values."""
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency,
                                  thread_name_prefix=f"web-{self.name}")
        try:
            futures = {pool.submit(self.read, ref, prev): ref for ref, prev in refs_and_previous}
            for future in as_completed(futures):
                try:
                    result: ReadResult = future.result()
                except SourceError as exc:
                    result = exc
                yield futures[future], result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
