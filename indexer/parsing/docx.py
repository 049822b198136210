"""Word documents (.docx) → sections from the Title and Heading 1–6 paragraph styles.

Body paragraphs and tables are read in document order so a table stays under its heading.
DOCX has no deep-link fragments, so anchors are None; line numbers count body paragraphs
and table rows (1-based), which is the closest thing a Word file has to lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO

import docx
from docx.document import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from indexer.dating import iso_date
from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.outline import Outline, collapse, same_text, wrap_errors
from indexer.parsing.util import stem_title, table_row
from indexer.parsing.zipcheck import check_zip

_HEADING = re.compile(r"^heading\s*([1-9])$", re.I)
TITLE_LEVEL = 0


def _open(content: bytes) -> Document:
    check_zip(content, "DOCX")  # before python-docx inflates anything
    try:
        return docx.Document(BytesIO(content))
    except Exception as exc:
        raise ParseError("not a valid DOCX file (corrupt, or another format renamed)") from exc


def heading_level(paragraph: Paragraph) -> int | None:
    """0 for Title, 1–9 for headings, None for body text.

    Follows custom styles to the built-in one they are based on, and honours an explicit
    outline level, so "Policy Heading" based on "Heading 2" still counts as a heading.
    """
    outline = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    if outline and str(outline[0]).isdigit() and int(outline[0]) < 9:
        return int(outline[0]) + 1
    style = paragraph.style
    for _ in range(6):
        if style is None:
            return None
        name = (style.name or "").strip()
        if name.lower() == "title":
            return TITLE_LEVEL
        match = _HEADING.match(name)
        if match:
            return int(match.group(1))
        style = style.base_style
    return None


def _is_list(paragraph: Paragraph) -> bool:
    name = (paragraph.style.name or "") if paragraph.style is not None else ""
    return name.lower().startswith("list") or bool(paragraph._p.xpath("./w:pPr/w:numPr"))


def body_items(doc: Document) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables of the body in document order, content controls opened up."""
    def walk(element: object) -> Iterator[Paragraph | Table]:
        for child in element.iterchildren():  # type: ignore[attr-defined]
            if child.tag == qn("w:p"):
                yield Paragraph(child, doc)
            elif child.tag == qn("w:tbl"):
                yield Table(child, doc)
            elif child.tag == qn("w:sdt"):
                for content in child.iterchildren(qn("w:sdtContent")):
                    yield from walk(content)

    yield from walk(doc.element.body)


def _rows(table: Table) -> Iterator[str]:
    """Rows keyed by the first (header) row, so each reads on its own."""
    header: list[str] = []
    for index, row in enumerate(table.rows):
        cells, seen = [], set()
        for cell in row.cells:  # merged cells repeat; keep each once
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(collapse(cell.text))
        if index == 0 and len(table.rows) > 1:
            header = cells
            yield ""
            continue
        yield table_row(header, cells) if any(cells) else ""


def _title(doc: Document, items: list[Paragraph | Table], path: str) -> str:
    title = collapse(doc.core_properties.title or "")
    if title:
        return title
    for item in items:
        if isinstance(item, Paragraph) and heading_level(item) in (TITLE_LEVEL, 1):
            text = collapse(item.text)
            if text:
                return text
    return stem_title(path)


@wrap_errors("DOCX")
def parse(raw: RawDocument) -> ParsedDocument:
    """Sections by heading style; tables become one block per row."""
    doc = _open(raw.content)
    items = list(body_items(doc))
    title = _title(doc, items, raw.path)
    outline = Outline(title)
    number = 0
    for item in items:
        if isinstance(item, Table):
            for row in _rows(item):
                number += 1
                outline.add(row, number)
            continue
        number += 1
        text = collapse(item.text)
        level = heading_level(item)
        if not text or (level == TITLE_LEVEL and same_text(text, title)):
            continue
        if level is not None and level > TITLE_LEVEL:
            outline.open(text, level)
        else:
            outline.add(f"- {text}" if _is_list(item) else text, number)
    # core property "modified": when the file was last saved, which Word keeps current
    return ParsedDocument(title=title, sections=outline.finish(),
                          dated=iso_date(doc.core_properties.modified))
