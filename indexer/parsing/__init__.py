"""Turns raw document bytes into a :class:`ParsedDocument`, whatever the format."""

from __future__ import annotations

from importlib import import_module

from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.cleaning import TemplateCleaner

# Formats whose parser never reads an audience from the document: a file of these kinds
# is as restricted as its source, whatever its text. Markdown (front matter) and HTML
# (<meta name="audience">) can declare one; a new format is assumed to, until listed here.
AUDIENCE_FREE_TYPES = frozenset({"text", "pdf", "docx"})

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
