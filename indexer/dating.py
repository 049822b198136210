"""The version and date a reader is shown beside a source, and where they come from.

An internal version (a file's mtime in nanoseconds, an ETag) decides whether a document is
read again; it means nothing to an employee. What a reader can use is, in this order:

1. the date the document gives itself (Markdown front matter ``last_updated``/``updated``/
   ``date``, DOCX core property ``modified``, PDF ``ModDate``, an HTML ``<meta>`` of the
   same names): the policy's own date;
2. the date its source gives this version: the commit date of the last commit that touched
   the file (git), the ``Last-Modified`` header (web);
3. otherwise the day PolicyBot indexed this version, labelled "synced" so nobody reads it
   as the policy's date.

Git sources also show the short commit, the one version a reader can look up. The chosen
version label, date and its kind are stored with every row (``version_label``,
``doc_date``, ``dated_by``); rows written before those columns existed are described from
what they hold (a full commit SHA, the row's write time, "synced").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

DOCUMENT, COMMIT, HTTP, SYNCED = "document", "commit", "http", "synced"
# How each kind of date reads beside a source: "updated 2026-05-01", "synced 2026-11-30".
WORDS = {DOCUMENT: "updated", COMMIT: "committed", HTTP: "last modified", SYNCED: "synced"}
# Front-matter / metadata keys that carry a document's own date, the most specific first.
DATE_KEYS = ("last_updated", "last-updated", "lastupdated", "updated", "last_modified",
             "last-modified", "modified", "date")
SHORT_COMMIT = 7  # git's own default abbreviation
_SHA = re.compile(r"[0-9a-fA-F]{40}")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_PDF = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?")
EARLIEST = date(1980, 1, 1)


@dataclass(frozen=True)
class Dating:
    """What is shown beside a source: ``version`` ("" when there is none a reader can
    use), ``date`` (ISO day, "" when unknown) and ``kind`` (one of :data:`WORDS`)."""

    version: str
    date: str
    kind: str

    def describe(self) -> str:
        """``commit 1a2b3c4 · committed 2026-05-01``, ``updated 2026-05-01``, ``synced
        2026-11-30``: each part only when known."""
        return describe(self.version, self.date, self.kind)


def describe(version: str, day: str, kind: str) -> str:
    """The one wording every renderer (Slack, CLI, ``cite``, stale alerts) uses."""
    parts = []
    if version.strip():
        parts.append(f"commit {version.strip()}")
    if day.strip():
        parts.append(f"{WORDS.get(kind, 'updated')} {day.strip()[:10]}")
    return " · ".join(parts)


def iso_date(value: Any, today: date | None = None) -> str | None:
    """A ``YYYY-MM-DD`` day from a YAML date, a datetime, an ISO string, an HTTP date or a
    PDF date string; None when it is none of these or implausible (before 1980 or more
    than a day in the future): a wrong date shown as the policy's own is worse than none."""
    day: date | None = None
    if isinstance(value, datetime):
        day = (value.astimezone(UTC) if value.tzinfo else value).date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str) and value.strip():
        day = _from_text(value.strip())
    if day is None:
        return None
    latest = (today or datetime.now(UTC).date()) + timedelta(days=1)
    return day.isoformat() if EARLIEST <= day <= latest else None


def _from_text(text: str) -> date | None:
    for pattern in (_ISO, _PDF):
        m = pattern.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
            except ValueError:
                return None
    try:  # an HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT"
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return (parsed.astimezone(UTC) if parsed.tzinfo else parsed).date()


def metadata_date(meta: dict[str, Any]) -> str | None:
    """The document's own date from its front matter or metadata (keys compared without
    case), the most specific key first; None when it states none that parses."""
    lowered = {str(k).lower(): v for k, v in meta.items()}
    for key in DATE_KEYS:
        found = iso_date(lowered.get(key))
        if found:
            return found
    return None


def choose(document: str | None, source: str | None, source_kind: str, version: str,
           synced: datetime) -> Dating:
    """The document's own date, else its source's, else the sync day (see module doc)."""
    if document:
        return Dating(version, document, DOCUMENT)
    if source and source_kind:
        return Dating(version, source, source_kind)
    return Dating(version, synced.astimezone(UTC).date().isoformat(), SYNCED)


def short_commit(commit: str) -> str:
    """A git commit's short form; "" for anything that is not a full commit SHA."""
    return commit[:SHORT_COMMIT].lower() if _SHA.fullmatch(commit.strip()) else ""


def stored(version_label: str | None, doc_date: str | None, dated_by: str | None,
           doc_version: str, updated_at: Any) -> Dating:
    """What a row says, including rows written before these columns existed: a full
    commit SHA still shows as a short commit, and the row's write time as "synced"."""
    if doc_date:
        return Dating(version_label or "", doc_date, dated_by or SYNCED)
    day = ""
    if isinstance(updated_at, datetime):
        day = (updated_at.astimezone(UTC) if updated_at.tzinfo else updated_at).date().isoformat()
    return Dating(short_commit(doc_version or ""), day, SYNCED)


__all__ = ["COMMIT", "DOCUMENT", "Dating", "HTTP", "SYNCED", "WORDS", "choose", "describe",
           "iso_date", "metadata_date", "short_commit", "stored"]
