"""HTTP plumbing for the web source: one bounded GET, and what a response's type means.

Separate from :mod:`indexer.sources.web` so the source reads as policy (what to list,
when a page is unchanged) while this module holds the transport details.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from indexer.errors import SourceError
from indexer.sources.base import media_type_for

MAX_BYTES = 64 * 1024 * 1024  # a policy page or PDF bigger than this is a mistake
CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}


@dataclass(frozen=True)
class Fetched:
    """A fully read response (the body is read while the in-flight slot is held)."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytes
    url: str  # final URL, after redirects


def fetch(client: httpx.Client, slots: threading.Semaphore, url: str,
          headers: dict[str, str] | None = None) -> Fetched:
    """One GET while holding a slot, so requests in flight never exceed the slots.

    Transport failures, timeouts and oversized bodies become SourceError naming the URL.
    """
    with slots:
        try:
            with client.stream("GET", url, headers=headers) as resp:
                body = bytearray()
                for part in resp.iter_bytes():
                    body += part
                    if len(body) > MAX_BYTES:
                        raise SourceError(f"{url}: larger than {MAX_BYTES >> 20} MiB")
                return Fetched(resp.status_code, resp.reason_phrase, resp.headers,
                               bytes(body), str(resp.url))
        except httpx.TimeoutException as exc:
            limit = client.timeout.read
            raise SourceError(f"{url}: timed out after {limit:g}s ({type(exc).__name__})") \
                from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise SourceError(f"{url}: {type(exc).__name__}: {exc}") from exc


def media_type(resp: Fetched) -> str:
    """Parser media type from Content-Type; .md served as text/plain counts as markdown."""
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    url_path = urlsplit(resp.url).path.lower()
    if ctype == "text/plain" and url_path.endswith((".md", ".markdown")):
        return "markdown"
    if ctype in CONTENT_TYPES:
        return CONTENT_TYPES[ctype]
    if ctype in ("", "application/octet-stream") and (guess := media_type_for(url_path)):
        return guess
    raise SourceError(f"{resp.url}: unsupported content type {ctype or '(none)'!r}")
