"""The data that flows through a sync: listed documents, raw bytes, parsed sections, chunks.

Kept free of any I/O so that sources, parsers, the chunker and the store can each be
tested on their own and agree on one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DocumentRef:
    """A document as a source lists it: where it is and which version it is at.

    ``version`` is whatever the source can tell cheaply (git commit, mtime, ETag);
    ``None`` means "unknown until fetched" (a web page without a sitemap date).
    """

    path: str
    version: str | None = None


@dataclass(frozen=True)
class RawDocument:
    """The bytes of one document plus what the source knows about it."""

    path: str
    version: str
    content: bytes
    media_type: str  # "markdown", "text", "html", "pdf", "docx"
    url: str | None = None  # the document's own address, when the source has one
    # True when ``version`` is only a digest of ``content`` (a web page with no ETag or
    # Last-Modified): the sync then versions the document by its parsed content instead,
    # so markup that changes on every fetch (a CSRF nonce) is not a new version.
    version_from_bytes: bool = False
    # What a reader can use (indexer.dating): the date the source gives this version
    # (commit date, Last-Modified) as an ISO day, what kind of date it is, and a version
    # label worth showing (a short commit); empty when the source has none.
    dated: str | None = None
    dated_by: str = ""
    version_label: str = ""


@dataclass
class Block:
    """A paragraph, list item or table row: the smallest unit the chunker keeps whole."""

    text: str
    start_line: int
    end_line: int
    # (link text, URL) of the links in ``text``: the text stays plain (it is what is
    # embedded, searched and quoted); renderers turn the link text back into a link
    links: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Section:
    """Text under one heading, with the heading path that leads to it."""

    headings: list[str]
    blocks: list[Block] = field(default_factory=list)
    anchor: str | None = None  # fragment for a deep link (heading id, page number, ...)
    level: int = 0  # depth of the last heading; 0 for text before any heading

    @property
    def path(self) -> str:
        return " › ".join(self.headings)


@dataclass
class ParsedDocument:
    """A document reduced to its title, metadata and heading-structured text."""

    title: str
    sections: list[Section]
    metadata: dict[str, Any] = field(default_factory=dict)
    audience: list[str] | None = None  # None: not stated by the document
    line_anchors: bool = False  # True when deep links may point at line ranges (plain text)
    dated: str | None = None  # the document's own date (ISO day): front matter, properties


@dataclass
class Chunk:
    """A piece of a document small enough for the embedding model, ready to embed."""

    ordinal: int
    section: str
    text: str
    embed_text: str  # what the model sees: heading context + text
    start_line: int
    end_line: int
    anchor: str | None
    tokens: int
    # (offset in ``text``, anchor, heading path) of each section merged into this chunk,
    # in order; empty when the chunk holds one section
    spans: list[tuple[int, str | None, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (link text, URL) in text
