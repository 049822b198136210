"""Turns raw document bytes into a :class:`ParsedDocument`, whatever the format."""

from __future__ import annotations

from importlib import import_module

from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.cleaning import TemplateCleaner

_PARSERS = {"markdown": "markdown", "text": "text", "html": "html", "pdf": "pdf",
            "docx": "docx"}


def parse_document(raw: RawDocument, cleaner: TemplateCleaner | None = None) -> ParsedDocument:
    """Parse ``raw`` by its media type; every failure surfaces as :class:`ParseError`."""
    module_name = _PARSERS.get(raw.media_type)
    if module_name is None:
        raise ParseError(f"unsupported document type {raw.media_type!r}")
    module = import_module(f"indexer.parsing.{module_name}")
    try:
        if module_name == "markdown":
            return module.parse(raw, cleaner)
        return module.parse(raw)
    except ParseError:
        raise
    except Exception as exc:  # a library choking on a malformed file
        raise ParseError(f"{type(exc).__name__}: {exc}") from exc
