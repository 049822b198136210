"""Turns raw document bytes into a :class:`ParsedDocument`, whatever the format.

The parser is the one :mod:`indexer.parsing.formats` registers for the document's media
type; that registry is the only list of what PolicyBot can parse.
"""

from __future__ import annotations

from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.cleaning import TemplateCleaner
from indexer.parsing.formats import FORMATS, Format, register_format, supported


def format_for(media_type: str) -> Format:
    """The registered format for ``media_type``; a ParseError naming the supported ones."""
    fmt = FORMATS.get(media_type)
    if fmt is None:
        raise ParseError(f"no parser for document type {media_type!r}; "
                         f"supported types: {supported()}")
    return fmt


def declares_audience(media_type: str) -> bool:
    """Can a document of this type narrow its own audience? True for a type nobody
    registered: an unknown format is assumed to, which keeps failures closed."""
    fmt = FORMATS.get(media_type)
    return fmt is None or fmt.declares_audience


def parse_document(raw: RawDocument, cleaner: TemplateCleaner | None = None) -> ParsedDocument:
    """Parse ``raw`` by its media type; every failure surfaces as :class:`ParseError`."""
    fmt = format_for(raw.media_type)
    try:
        return fmt.parse(raw, cleaner)
    except ParseError:
        raise
    except Exception as exc:  # a library choking on a malformed file
        raise ParseError(f"{type(exc).__name__}: {exc}") from exc


__all__ = ["Format", "declares_audience", "format_for", "parse_document", "register_format"]
