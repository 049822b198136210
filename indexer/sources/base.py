"""The one interface every document source implements."""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import PurePosixPath
from urllib.parse import quote

from indexer.documents import DocumentRef, RawDocument

# File suffix → media type the parsers understand.
MEDIA_TYPES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}


def media_type_for(path: str) -> str | None:
    """The media type for a file name, or None when PolicyBot does not index that kind."""
    return MEDIA_TYPES.get(PurePosixPath(path).suffix.lower())


def too_large(size: int, limit: int) -> str:
    """The skip reason for a document over a source's ``max_file_bytes``."""
    return (f"file is {size:,} bytes, over the source's max_file_bytes of {limit:,}; "
            "skipped (raise max_file_bytes to index it)")


def matches(path: str, include: list[str], exclude: list[str]) -> bool:
    """Glob filter on a source-relative POSIX path; ``**/`` also matches the top level."""

    def hit(pattern: str) -> bool:
        if fnmatch.fnmatchcase(path, pattern):
            return True
        return pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:])

    return any(hit(p) for p in include) and not any(hit(p) for p in exclude)


class Source(ABC):
    """A place documents live. Lists them with versions and reads one at a time.

    ``list`` raises :class:`~indexer.errors.SourceError` when the source cannot be listed
    at all; the sync then keeps the source's last good rows. ``read`` raises it for one
    document; the sync reports and skips that document.
    """

    name: str
    audience: list[str]
    url_template: str | None
    # (path, reason) for documents the last ``list`` left out on purpose (a symlink out
    # of the source, a file over the size cap); the sync reports them as failures.
    skipped: list[tuple[str, str]] = []

    @abstractmethod
    def list(self) -> Iterable[DocumentRef]:
        """Every document the source holds now, with the cheapest version it can tell."""

    @abstractmethod
    def read(self, ref: DocumentRef, previous_version: str | None = None) -> RawDocument | None:
        """The document's bytes, or None when the source confirms ``previous_version``
        is still current (an HTTP 304), so nothing needs to be parsed again."""

    def default_url(self, path: str, version: str) -> str:
        """Link to a document when no ``url`` template is configured."""
        return path

    def link(self, path: str, version: str, anchor: str | None = None) -> str:
        """Deep link to a document (and a fragment inside it) for citations."""
        if self.url_template:
            base = self.url_template.format(path=quote(path), version=version)
        else:
            base = self.default_url(path, version)
        return f"{base}#{anchor}" if anchor else base
