"""Small helpers the parsers share."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from indexer.documents import RawDocument
from indexer.errors import ParseError

log = logging.getLogger(__name__)
MAX_CHAOS = 0.2  # charset-normalizer's "mess" ratio above which a decoding is noise
PREFERRED = ("cp1252", "latin_1", "iso8859_15")


def decode_text(raw: RawDocument) -> str:
    """The text of a document: UTF-8, or the legacy encoding it was saved in (Latin-1,
    Windows-1252…, told by charset-normalizer); binary content and text whose encoding
    cannot be told are refused with the reason, never indexed with replacement
    characters (a "caf\ufffd" nobody can search for)."""
    if b"\x00" in raw.content[:4096]:
        raise ParseError("not a text file (binary content)")
    try:
        return raw.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    mixed = _utf8_with_stray_bytes(raw.content)
    if mixed is not None:
        log.info("%s is UTF-8 with a few bytes in another encoding; read those as "
                 "Windows-1252", raw.path)
        return mixed
    from charset_normalizer import from_bytes

    matches = from_bytes(raw.content)
    best = matches.best()
    if best is None or best.chaos > MAX_CHAOS:
        raise ParseError("not UTF-8 text, and its encoding could not be told; save the "
                         "file as UTF-8") from None
    # On a short text many single-byte code pages read equally well to the detector
    # (it took "Congés" for Baltic cp775's "Congķs"): among those, the common Western
    # legacy encodings win, as they are what an office suite writes when not UTF-8.
    plausible = [m for m in matches if m.chaos <= best.chaos + 0.05]
    chosen = next((m for enc in PREFERRED for m in plausible if m.encoding == enc), best)
    log.info("%s is not UTF-8; read as %s", raw.path, chosen.encoding)
    return str(chosen)


def _utf8_with_stray_bytes(content: bytes) -> str | None:
    """UTF-8 text with a few bytes that are not (a Latin-1 "é" pasted into a UTF-8 file):
    the UTF-8 read as UTF-8 and each stray byte as Windows-1252, so neither half turns to
    mojibake. None when the file is not mostly UTF-8 (no valid multi-byte sequence, or
    more than 1 % stray bytes): then it is one legacy encoding, told as a whole."""
    text = content.decode("utf-8", errors="surrogateescape")
    stray = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    multibyte = any(ord(ch) > 127 and not "\udc80" <= ch <= "\udcff" for ch in text)
    if not multibyte or stray > max(8, len(text) // 100):
        return None
    return "".join(_stray(ch) if "\udc80" <= ch <= "\udcff" else ch
                   for ch in text).lstrip("\ufeff")


def _stray(ch: str) -> str:
    byte = bytes([ord(ch) - 0xDC00])
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes Windows-1252 leaves undefined
        return byte.decode("latin-1")


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


_LINK_SCHEMES = ("http", "https", "mailto")
MAX_LINK_CHARS = 2000


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) or mailto link a reader may follow; None
    for anything else (``javascript:``, ``data:``, a relative path, a template tag the
    cleaner emptied, a URL with spaces or control characters, an absurdly long one)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_LINK_CHARS or any(c.isspace() or ord(c) < 32 or c in "<>\""
                                                    for c in url):
        return None
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in _LINK_SCHEMES:
        return None
    if scheme.lower() == "mailto":
        return url if "@" in rest else None
    return url if rest.startswith("//") and len(rest) > 2 else None


def relative_link(href: str | None) -> str | None:
    """``href`` when it points at another file of the same source, or a place in this one
    (``../forms/leave.md``, ``./travel.md#per-diem``, ``#per-diem``), as written: the
    sync resolves it against the source's ``url`` template
    (:func:`indexer.rows.resolve_links`), since the parser does not know where the source
    is published. None for anything else: a scheme (``javascript:``), a host
    (``//evil.example``), a site-absolute path (``/faq/``: on a generated site that is a
    page, not a file of the source), spaces or control characters."""
    href = (href or "").strip()
    if not href or len(href) > MAX_LINK_CHARS or href.startswith(("/", "\\")) or any(
            c.isspace() or ord(c) < 32 or c in "<>\"\\" for c in href):
        return None
    head = href.split("#", 1)[0].split("?", 1)[0].split("/", 1)[0]
    if ":" in head:  # a scheme (or a Windows drive): not a file of this source
        return None
    return href
