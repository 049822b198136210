"""The registry of document formats: the one place that says what PolicyBot can index.

Each :class:`Format` names its media type (``RawDocument.media_type``), the file
extensions and HTTP content types that mean it, whether a document of that kind can
declare its own audience, and its parser. Sources ask it which files to list and what a
response is; the sync asks it whether a parse failure can have narrowed an audience;
:func:`indexer.parsing.parse_document` asks it for the parser. Adding a format is one
:func:`register_format` call (see the README's "Extension points").

Parsers are imported when the first document of their format is parsed, so listing a
folder or syncing a few Markdown edits never imports the PDF and DOCX stacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from indexer.documents import ParsedDocument, RawDocument

if TYPE_CHECKING:
    from indexer.parsing.cleaning import TemplateCleaner

Parser = Callable[[RawDocument, "TemplateCleaner | None"], ParsedDocument]


@dataclass(frozen=True)
class Format:
    """One kind of document PolicyBot indexes.

    ``extensions`` are listed by directory and git sources with the default ``include``;
    ``opt_in_extensions`` are recognised only when a source's ``include`` names them.
    ``declares_audience``: the document itself can narrow who may read it (Markdown
    front matter, an HTML ``<meta name="audience">``); a format that cannot is as
    restricted as its source, whatever its text. ``parse`` may raise anything: callers
    turn it into a ParseError.
    """

    name: str
    extensions: tuple[str, ...]
    content_types: tuple[str, ...]
    declares_audience: bool
    parse: Parser
    opt_in_extensions: tuple[str, ...] = ()


FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    """Add ``fmt``; a name, extension or content type claimed twice is a programming error."""
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name!r} is already registered")
    taken_ext = {e for f in FORMATS.values() for e in (*f.extensions, *f.opt_in_extensions)}
    taken_ct = {c for f in FORMATS.values() for c in f.content_types}
    clash = sorted(({*fmt.extensions, *fmt.opt_in_extensions} & taken_ext)
                   | (set(fmt.content_types) & taken_ct))
    if clash:
        raise ValueError(f"format {fmt.name!r}: {', '.join(clash)} already belong to "
                         "another format")
    if any(not e.startswith(".") or e != e.lower() for e in
           (*fmt.extensions, *fmt.opt_in_extensions)):
        raise ValueError(f"format {fmt.name!r}: extensions are lower case and start with '.'")
    FORMATS[fmt.name] = fmt
    return fmt


def supported() -> str:
    """The registered media types, for error messages: ``markdown, text, html, …``."""
    return ", ".join(FORMATS)


def media_type_for(path: str) -> str | None:
    """The media type for a file name, or None when PolicyBot does not index that kind."""
    suffix = PurePosixPath(path).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.extensions or suffix in fmt.opt_in_extensions:
            return fmt.name
    return None


def media_type_for_content_type(content_type: str) -> str | None:
    """The media type for an HTTP ``Content-Type`` (parameters ignored), or None."""
    ctype = content_type.split(";")[0].strip().lower()
    return next((f.name for f in FORMATS.values() if ctype in f.content_types), None)


def default_include() -> list[str]:
    """The ``include`` globs of a directory or git source that sets none.

    Its order is part of every source's row shape (:func:`indexer.rows.row_shape`), so a
    new format is appended: reordering would re-derive every indexed document."""
    return [f"**/*{ext}" for fmt in FORMATS.values() for ext in fmt.extensions]


def audience_free_types() -> frozenset[str]:
    """Media types whose documents can never narrow their source's audience."""
    return frozenset(f.name for f in FORMATS.values() if not f.declares_audience)


# -- the built-in formats ------------------------------------------------------------------
# Each parser is imported inside its function: see the module docstring.

def _markdown(raw: RawDocument, cleaner: TemplateCleaner | None) -> ParsedDocument:
    from indexer.parsing import markdown

    return markdown.parse(raw, cleaner)  # front matter and templating tags: the cleaner


def _text(raw: RawDocument, cleaner: TemplateCleaner | None) -> ParsedDocument:
    from indexer.parsing import text

    return text.parse(raw)


def _html(raw: RawDocument, cleaner: TemplateCleaner | None) -> ParsedDocument:
    from indexer.parsing import html

    return html.parse(raw)


def _pdf(raw: RawDocument, cleaner: TemplateCleaner | None) -> ParsedDocument:
    from indexer.parsing import pdf

    return pdf.parse(raw)


def _docx(raw: RawDocument, cleaner: TemplateCleaner | None) -> ParsedDocument:
    from indexer.parsing import docx

    return docx.parse(raw)


register_format(Format("markdown", (".md", ".markdown"), ("text/markdown", "text/x-markdown"),
                       declares_audience=True, parse=_markdown, opt_in_extensions=(".mdx",)))
register_format(Format("text", (".txt",), ("text/plain",), declares_audience=False,
                       parse=_text, opt_in_extensions=(".text",)))
register_format(Format("html", (".html", ".htm"), ("text/html", "application/xhtml+xml"),
                       declares_audience=True, parse=_html))
register_format(Format("pdf", (".pdf",), ("application/pdf",), declares_audience=False,
                       parse=_pdf))
register_format(Format(
    "docx", (".docx",),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    declares_audience=False, parse=_docx))
