"""Zip bomb checks for zip-based formats (DOCX), run before any library opens the file.

A 436 KiB DOCX can declare an 828 MiB ``document.xml``; python-docx would inflate and
parse all of it. The central directory states every entry's sizes up front, and
:mod:`zipfile` never inflates an entry past its declared size, so checking the
declarations bounds what opening the file can cost.
"""

from __future__ import annotations

import zipfile
from io import BytesIO

from indexer.errors import ParseError

MAX_ENTRIES = 5_000
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # one part (document.xml, an image) inflated
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # every part inflated
MAX_RATIO = 100  # inflated / compressed, for parts big enough to matter
RATIO_FLOOR_BYTES = 1024 * 1024  # tiny parts compress absurdly well and harm nothing


def check_zip(content: bytes, kind: str = "DOCX") -> None:
    """Raise ParseError (a clear skip reason) when the archive would inflate too far."""
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(f"not a valid {kind} file (corrupt, or another format "
                         "renamed)") from exc
    if len(infos) > MAX_ENTRIES:
        raise ParseError(f"{kind} has {len(infos):,} parts (limit {MAX_ENTRIES:,}); "
                         "skipped as a likely zip bomb")
    total = 0
    for info in infos:
        size, packed = info.file_size, max(info.compress_size, 1)
        total += size
        if size > MAX_ENTRY_BYTES:
            raise ParseError(f"{kind} part {info.filename!r} inflates to {size:,} bytes "
                             f"(limit {MAX_ENTRY_BYTES:,}); skipped as a likely zip bomb")
        if size > RATIO_FLOOR_BYTES and size / packed > MAX_RATIO:
            raise ParseError(f"{kind} part {info.filename!r} inflates {size // packed:,}x "
                             f"(limit {MAX_RATIO}x); skipped as a likely zip bomb")
    if total > MAX_TOTAL_BYTES:
        raise ParseError(f"{kind} inflates to {total:,} bytes in all (limit "
                         f"{MAX_TOTAL_BYTES:,}); skipped as a likely zip bomb")
