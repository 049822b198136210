"""HTTP plumbing for the web source: one bounded GET, and what a response's type means.

Separate from :mod:`indexer.sources.web` so the source reads as policy (what to list,
when a page is unchanged) while this module holds the transport details: which hosts
may be fetched (redirects are followed here, one checked hop at a time), the total
deadline of a fetch, the size cap, credentials, and URLs cleaned of ``user:pass@``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from indexer.errors import SourceError
from indexer.parsing.formats import media_type_for, media_type_for_content_type, supported
from indexer.sources.web_net import AddressRefused, deadline, guarded_transport

MAX_REDIRECTS = 10
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


def strip_userinfo(url: str) -> str:
    """The URL without ``user:password@``: what may be stored, shown or logged."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def hostname(url: str) -> str:
    """Lower-case host name of a URL, without port, credentials or a trailing dot."""
    return (urlsplit(url).hostname or "").rstrip(".")


@dataclass(frozen=True)
class Fetched:
    """A fully read response (the body is read while the in-flight slot is held)."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytes
    url: str  # final URL, after redirects


class Fetcher:
    """GETs limited to ``hosts``, ``concurrency`` in flight, ``deadline_s`` each in all.

    ``auth`` (an Authorization header value) is sent only to ``auth_origins`` (the
    scheme://host:port of the configured URLs), never to another host a redirect names,
    nor over plain http to a host configured with https.
    """

    def __init__(self, *, hosts: frozenset[str], allow_private: bool, user_agent: str,
                 timeout_s: float, deadline_s: float, max_bytes: int, concurrency: int,
                 auth_origins: frozenset[str]) -> None:
        self.hosts, self.deadline_s, self.max_bytes = hosts, deadline_s, max_bytes
        self.auth: str | None = None
        self.auth_origins = auth_origins
        self.slots = threading.BoundedSemaphore(concurrency)
        self.client = httpx.Client(transport=guarded_transport(allow_private),
                                   timeout=timeout_s, follow_redirects=False,
                                   trust_env=False, headers={"User-Agent": user_agent})

    def close(self) -> None:
        self.client.close()

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched at all, or None."""
        if urlsplit(url).scheme not in ("http", "https"):
            return "not an http(s) URL"
        host = hostname(url)
        if host not in self.hosts:
            return (f"host {host or '(none)'!r} is not in the source's hosts "
                    f"({', '.join(sorted(self.hosts))})")
        return None

    def get(self, url: str, headers: dict[str, str] | None = None) -> Fetched:
        """One GET, redirects followed by hand and each hop checked, within the deadline.

        Transport failures, refusals, the deadline and oversized bodies become
        SourceError naming the (credential-free) URL.
        """
        start = strip_userinfo(url)
        current = start
        with self.slots, deadline(self.deadline_s) as end:
            for _ in range(MAX_REDIRECTS + 1):
                reason = self.refusal(current)
                if reason:
                    via = f" (redirected from {start})" if current != start else ""
                    raise SourceError(f"{current}: refused{via}: {reason}")
                resp = self._one(current, headers or {}, end)
                location = resp.headers.get("location")
                if resp.status not in REDIRECT_STATUSES or not location:
                    return resp
                current = strip_userinfo(urljoin(current, location.strip()))
        raise SourceError(f"{start}: more than {MAX_REDIRECTS} redirects")

    def _one(self, url: str, headers: dict[str, str], end: float) -> Fetched:
        sent = dict(headers)
        parts = urlsplit(url)
        if self.auth and f"{parts.scheme}://{parts.netloc.lower()}" in self.auth_origins:
            sent["Authorization"] = self.auth
        try:
            with self.client.stream("GET", url, headers=sent) as resp:
                body = bytearray()
                if resp.status_code not in REDIRECT_STATUSES:
                    for part in resp.iter_bytes():
                        body += part
                        if len(body) > self.max_bytes:
                            raise SourceError(f"{url}: larger than the source's "
                                              f"max_file_bytes ({self.max_bytes:,} bytes)")
                        if time.monotonic() > end:
                            raise self._late(url)
                return Fetched(resp.status_code, resp.reason_phrase, resp.headers,
                               bytes(body), strip_userinfo(str(resp.url)))
        except httpx.TimeoutException as exc:
            if time.monotonic() >= end - 0.01:
                raise self._late(url) from exc
            limit = self.client.timeout.read
            raise SourceError(f"{url}: timed out after {limit:g}s ({type(exc).__name__})") \
                from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if isinstance(exc.__cause__, AddressRefused):
                raise SourceError(f"{url}: refused: {exc.__cause__}") from exc
            raise SourceError(f"{url}: {type(exc).__name__}: {exc}") from exc

    def _late(self, url: str) -> SourceError:
        return SourceError(f"{url}: timed out: not complete within the fetch deadline of "
                           f"{self.deadline_s:g}s (fetch_deadline_s)")


def media_type(resp: Fetched) -> str:
    """Parser media type from Content-Type; .md served as text/plain counts as markdown."""
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    url_path = urlsplit(resp.url).path.lower()
    by_name = media_type_for(url_path)
    if ctype == "text/plain" and by_name == "markdown":
        return "markdown"
    if found := media_type_for_content_type(ctype):
        return found
    if ctype in ("", "application/octet-stream") and by_name:
        return by_name
    raise SourceError(f"{resp.url}: unsupported content type {ctype or '(none)'!r} "
                      f"(PolicyBot parses: {supported()})")
