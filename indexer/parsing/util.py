"""Small helpers the parsers share."""

from __future__ import annotations

from pathlib import PurePosixPath

from indexer.documents import RawDocument
from indexer.errors import ParseError


def decode_text(raw: RawDocument) -> str:
    """UTF-8 text of a document; binary content is refused rather than indexed as noise."""
    if b"\x00" in raw.content[:4096]:
        raise ParseError("not a text file (binary content)")
    try:
        return raw.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.content.decode("utf-8", errors="replace")
        if text.count("\ufffd") > max(8, len(text) // 100):
            raise ParseError("not UTF-8 text; save the file as UTF-8") from None
        return text


def stem_title(path: str) -> str:
    """A readable title from a file name: ``parental-leave.md`` → ``Parental leave``."""
    stem = PurePosixPath(path).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else path


def table_row(header: list[str], cells: list[str]) -> str:
    """A table row that reads on its own: ``Entity: Portugal; Allowance: 25 days``.

    A bare ``Portugal | 25 days`` means nothing to a search engine or a reader once the
    header row is in another chunk."""
    if len(header) != len(cells):
        return " | ".join(cells)
    return "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=True) if c)
