"""Word documents (.docx) → sections from the Title and Heading 1–6 paragraph styles.

Body paragraphs and tables are read in document order so a table stays under its heading;
hyperlinks keep their text in the passage and their URL beside it, as Markdown links do.
DOCX has no deep-link fragments, so anchors are None; line numbers count body paragraphs
and table rows (1-based), which is the closest thing a Word file has to lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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
from indexer.parsing.util import relative_link, safe_link, stem_title, table_row
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


def hyperlinks(paragraphs: Iterable[Paragraph]) -> list[tuple[str, str]]:
    """(text, URL) of the hyperlinks in ``paragraphs``: a ``w:hyperlink`` names its target
    through an ``r:id`` relationship (python-docx's ``Hyperlink.url``: address and
    fragment). Kept: http(s) and mailto links, and links to another file of the source,
    which the sync resolves (:func:`~indexer.parsing.util.relative_link`). Not kept: jumps
    to a bookmark in this file (a table of contents: no address), ``file:`` paths, and an
    ``r:id`` the file does not define (a damaged file loses the link, not the text)."""
    out: list[tuple[str, str]] = []
    for paragraph in paragraphs:
        for link in paragraph.hyperlinks:
            try:
                url = link.url
            except KeyError:
                continue
            text = collapse(link.text)
            found = safe_link(url) or relative_link(url)
            if text and found and (text, found) not in out:
                out.append((text, found))
    return out


def _rows(table: Table) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Rows keyed by the first (header) row, so each reads on its own, with their links."""
    header: list[str] = []
    for index, row in enumerate(table.rows):
        cells, seen, paragraphs = [], set(), []
        for cell in row.cells:  # merged cells repeat; keep each once
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(collapse(cell.text))
                paragraphs += cell.paragraphs
        if index == 0 and len(table.rows) > 1:
            header = cells
            yield "", []
            continue
        yield (table_row(header, cells), hyperlinks(paragraphs)) if any(cells) else ("", [])


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
            for row, links in _rows(item):
                number += 1
                outline.add(row, number, links=links)
            continue
        number += 1
        text = collapse(item.text)
        level = heading_level(item)
        if not text or (level == TITLE_LEVEL and same_text(text, title)):
            continue
        if level is not None and level > TITLE_LEVEL:
            outline.open(text, level)
        else:
            outline.add(f"- {text}" if _is_list(item) else text, number,
                        links=hyperlinks([item]))
    # core property "modified": when the file was last saved, which Word keeps current
    return ParsedDocument(title=title, sections=outline.finish(),
                          dated=iso_date(doc.core_properties.modified))
