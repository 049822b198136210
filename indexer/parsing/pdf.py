"""PDF → sections found from typography, each linking to the page it starts on.

Text comes from pypdf, headings from :mod:`indexer.parsing.pdf_headings`. Anchors are
``page=N`` because every PDF viewer honours ``#page=N``; line numbers count lines of the
extracted text across the whole document.
"""

from __future__ import annotations

import logging
import re
from io import BytesIO

from pypdf import PdfReader

from indexer.dating import iso_date
from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.outline import Outline, same_text, wrap_errors
from indexer.parsing.pdf_headings import body_style, find_headings
from indexer.parsing.pdf_lines import Line, drop_running_text, is_page_number, page_lines
from indexer.parsing.util import stem_title

log = logging.getLogger(__name__)
_BULLET = re.compile(r"^[•◦▪▸►‣∙·*–-]\s+")
_LIST_ITEM = re.compile(r"^(?:[•◦▪▸►‣∙·*–-]|\(?(?:\d{1,3}|[a-z])[.)])\s+")
_JUNK_TITLE = re.compile(r"^(?:untitled|document\d*|microsoft word - .*|.*\.(?:docx?|pdf|rtf|"
                         r"odt|pages|indd|pptx?))$", re.I)


def _open(content: bytes) -> PdfReader:
    try:
        reader = PdfReader(BytesIO(content))
    except Exception as exc:
        raise ParseError("not a valid PDF file") from exc
    if reader.is_encrypted:
        try:  # an owner password alone only restricts printing/editing; such files open
            opened = reader.decrypt("")
        except Exception:
            opened = 0
        if not opened:
            raise ParseError("encrypted PDF (needs a password)")
    return reader


def _lines(reader: PdfReader) -> list[Line]:
    pages: list[list[Line]] = []
    number = 1
    for page_number, page in enumerate(reader.pages, start=1):
        try:
            lines = page_lines(page, page_number, number)
        except Exception as exc:  # one broken content stream should not lose the rest
            log.warning("skipping unreadable PDF page %d: %s", page_number, exc)
            lines = [Line("", page_number, number)]
        pages.append(lines)
        number = lines[-1].number + 1
    drop_running_text(pages)
    return [line for lines in pages for line in lines]


def _title(reader: PdfReader, lines: list[Line], path: str) -> str:
    meta = reader.metadata
    title = str(meta.title or "").strip() if meta else ""
    if title and not _JUNK_TITLE.match(title) and any(c.isalpha() for c in title):
        return title
    # A running header is often the document's name, so skipped lines may give the title.
    first = next((ln for ln in lines if ln.text and not is_page_number(ln.text)), None)
    if first and first.page == 1 and len(first.text) < 100:
        return first.text
    return stem_title(path)


def _break_gap(lines: list[Line]) -> float:
    """Vertical distance beyond which two body lines belong to different paragraphs.

    Line spacing inside a paragraph is the smallest common gap between body-text lines;
    paragraph spacing is larger, so a gap well above it starts a new paragraph.
    """
    size = body_style(lines)[0]
    gaps = sorted(a.y - b.y for a, b in zip(lines, lines[1:], strict=False)
                  if a.y is not None and b.y is not None and a.page == b.page and a.y > b.y
                  and a.size == b.size == size)
    return gaps[len(gaps) * 3 // 10] * 1.4 if gaps else float("inf")


def _join(text: str, line: str) -> str:
    if text.endswith("\xad"):
        return text[:-1] + line
    if text.endswith("-") and text[-2:-1].isalpha():
        return text + line
    return f"{text} {line}"


@wrap_errors("PDF")
def parse(raw: RawDocument) -> ParsedDocument:
    """Sections from a text PDF; scanned or encrypted PDFs are refused with a reason."""
    reader = _open(raw.content)
    lines = _lines(reader)
    if not any(ln.text and not ln.skip for ln in lines):
        raise ParseError("no extractable text (scanned PDF?)")
    title = _title(reader, lines, raw.path)
    headings = {h.first: h for h in find_headings(lines)}
    gap = _break_gap(lines)
    outline = Outline(title, first_anchor="page=1")
    first_text = True
    para: list[Line] = []
    text = ""

    def flush() -> None:
        if para:
            outline.add(text, para[0].number, para[-1].number)
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.skip:
            i += 1
            continue
        heading = headings.get(i)
        if heading:
            flush()
            outline.open(heading.text, heading.level, f"page={line.page}")
            i = heading.last + 1
            first_text = False
            continue
        if not line.text or (first_text and same_text(line.text, title)):
            flush()  # a blank line ends a paragraph; a title line is not content
        elif para and not _new_paragraph(para[-1], line, gap):
            para.append(line)
            text = _join(text, line.text)
        else:
            flush()
            para.append(line)
            text = _BULLET.sub("- ", line.text, count=1)
        first_text = first_text and not line.text
        i += 1
    flush()
    return ParsedDocument(title=title, sections=outline.finish(),
                          metadata={"pages": len(reader.pages)}, dated=_modified(reader))


def _modified(reader: PdfReader) -> str | None:
    """The document information's ``ModDate`` as an ISO day; None when absent or unreadable
    (a malformed date string must not fail an otherwise readable PDF)."""
    try:
        meta = reader.metadata
        return iso_date(meta.modification_date_raw) if meta is not None else None
    except Exception:  # noqa: BLE001 - pypdf raises several kinds on broken metadata
        return None


def _new_paragraph(prev: Line, line: Line, gap: float) -> bool:
    if _LIST_ITEM.match(line.text):
        return True
    if prev.page != line.page:
        return prev.text.endswith((".", "!", "?", ":"))
    if prev.y is None or line.y is None:
        return False
    return line.y > prev.y or prev.y - line.y > gap
