"""The one interface every document source implements, and the defaults they share.

:class:`Source` declares everything the sync (:mod:`indexer.sync`), row building
(:mod:`indexer.rows`) and the index (:mod:`indexer.index`) use of a source, so none of
them probes a source for optional methods. :class:`BaseSource` gives an implementation
the parts most sources share; ``tests/test_source_contract.py`` is the suite every
registered source type passes.
"""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import quote

from indexer.documents import DocumentRef, RawDocument
from indexer.errors import SourceError
from indexer.parsing.formats import media_type_for

# What reading one document gives: its bytes, None when the source confirmed the stored
# version is still current (an HTTP 304), or the SourceError that reading it raised.
ReadResult = RawDocument | SourceError | None


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


@runtime_checkable
class Source(Protocol):
    """A place documents live: what the sync needs of it, all of it.

    - ``list`` gives every document the source holds now, each with the cheapest version
      it can tell (None when only reading can tell). It raises
      :class:`~indexer.errors.SourceError` when the source cannot be listed at all; the
      sync then keeps the source's last good rows. A document it no longer lists is
      deleted from the index.
    - ``skipped``: (path, reason) for documents the last ``list`` left out on purpose (a
      symbolic link out of the source, a file over the size cap); reported as failures.
    - ``read`` gives one document's bytes, or None when the source confirms
      ``previous_version`` is still current; SourceError for that document alone.
    - ``read_many`` reads several, in any order and as concurrently as the source likes;
      a document's SourceError comes back as its result, never raised.
    - ``link`` is the citation link to a document (and a fragment in it).
    - ``close`` releases what the source holds (connections); called once per sync.
    """

    name: str
    audience: list[str]
    url_template: str | None
    skipped: list[tuple[str, str]]

    def list(self) -> Iterable[DocumentRef]: ...

    def read(self, ref: DocumentRef,
             previous_version: str | None = None) -> RawDocument | None: ...

    def read_many(self, refs_and_previous: Sequence[tuple[DocumentRef, str | None]]
                  ) -> Iterator[tuple[DocumentRef, ReadResult]]: ...

    def link(self, path: str, version: str, anchor: str | None = None) -> str: ...

    def close(self) -> None: ...


class BaseSource(ABC):
    """What most sources share: one-at-a-time ``read_many``, nothing to ``close``,
    links from the configured ``url`` template, and use as a context manager."""

    name: str
    audience: list[str]
    url_template: str | None
    skipped: list[tuple[str, str]]

    @abstractmethod
    def list(self) -> Iterable[DocumentRef]:
        """Every document the source holds now, with the cheapest version it can tell."""

    @abstractmethod
    def read(self, ref: DocumentRef, previous_version: str | None = None) -> RawDocument | None:
        """The document's bytes, or None when the source confirms ``previous_version``
        is still current (an HTTP 304), so nothing needs to be parsed again."""

    def read_many(self, refs_and_previous: Sequence[tuple[DocumentRef, str | None]]
                  ) -> Iterator[tuple[DocumentRef, ReadResult]]:
        """Read one document after another; a document's SourceError is its result."""
        for ref, previous in refs_and_previous:
            try:
                result: ReadResult = self.read(ref, previous)
            except SourceError as exc:
                result = exc
            yield ref, result

    def close(self) -> None:  # noqa: B027 - a real default, not a missing abstract method
        """Nothing to release by default."""

    def __enter__(self) -> BaseSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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


__all__ = ["BaseSource", "ReadResult", "Source", "matches", "media_type_for", "too_large"]
