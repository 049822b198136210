"""Plain text (.txt): one section of blank-line-separated paragraphs with exact line ranges.

Text files have no headings to link to, so citations point at line ranges instead
(``line_anchors=True``); every block therefore keeps the 1-based lines it came from.
"""

from __future__ import annotations

import re

from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing.outline import Outline, wrap_errors
from indexer.parsing.util import decode_text, stem_title

_NEWLINE = re.compile(r"\r\n|\r|\n")
_MAX_TITLE = 100


def _decode(raw: RawDocument) -> str:
    """UTF-8 text; UTF-16 with a BOM (Windows "Unicode" Notepad files) is accepted too."""
    if raw.content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.content.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError("not a text file (broken UTF-16)") from exc
    return decode_text(raw)


def paragraphs(lines: list[str]) -> list[tuple[int, int, str]]:
    """(start_line, end_line, text) for each run of non-blank lines, 1-based."""
    found: list[tuple[int, int, str]] = []
    run: list[str] = []
    start = 0
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            if not run:
                start = number
            run.append(line.strip())
        elif run:
            found.append((start, number - 1, "\n".join(run)))
            run = []
    return found


@wrap_errors("text file")
def parse(raw: RawDocument) -> ParsedDocument:
    """One section titled by the first line (when short) holding every paragraph."""
    lines = _NEWLINE.split(_decode(raw).lstrip("\ufeff"))
    paras = paragraphs(lines)
    if not paras:
        raise ParseError("empty text file")
    first_line = next(line.strip() for line in lines if line.strip())
    title = first_line if len(first_line) < _MAX_TITLE else stem_title(raw.path)
    # A title standing alone on its line is a heading, not content worth a chunk of its own.
    if len(paras) > 1 and paras[0][2] == title:
        paras = paras[1:]
    outline = Outline(title)
    for start, end, text in paras:
        outline.add(text, start, end)
    return ParsedDocument(title=title, sections=outline.finish(), line_anchors=True)
