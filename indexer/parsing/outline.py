"""Shared bookkeeping for the HTML, PDF and DOCX parsers: heading paths and error wrapping.

Every format ends up answering the same questions (which headings lead to this text, which
sections are worth keeping), so the rules live here once and the parsers only find headings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeVar

from indexer.documents import Block, ParsedDocument, RawDocument, Section
from indexer.errors import ParseError

_SPACE = re.compile(r"\s+")
F = TypeVar("F", bound=Callable[[RawDocument], ParsedDocument])


def collapse(text: str) -> str:
    """Runs of whitespace to one space: layout whitespace carries no meaning in prose."""
    return _SPACE.sub(" ", text).strip()


def same_text(a: str, b: str) -> bool:
    """Headings compare case- and spacing-insensitively ("LEAVE  Policy" == "Leave policy")."""
    return collapse(a).casefold() == collapse(b).casefold()


class Outline:
    """Sections under one title; deeper headings nest, same-or-shallower ones replace.

    The first section holds text before any heading. Heading paths always start with the
    title so a citation reads "Handbook › Leave › Sick leave" even for a bare heading.
    """

    def __init__(self, title: str, first_anchor: str | None = None) -> None:
        self.title = title
        self._stack: list[tuple[int, str]] = []
        self.sections = [Section(headings=[title], anchor=first_anchor)]

    @property
    def current(self) -> Section:
        return self.sections[-1]

    def open(self, text: str, level: int, anchor: str | None = None) -> Section:
        """Start a section for a heading of ``level`` (1 = top)."""
        self._stack = [(lv, tx) for lv, tx in self._stack if lv < level] + [(level, text)]
        path = [tx for _, tx in self._stack]
        if path and same_text(path[0], self.title):
            path = path[1:]
        section = Section(headings=[self.title, *path], anchor=anchor, level=level)
        self.sections.append(section)
        return section

    def add(self, text: str, start_line: int, end_line: int | None = None,
            links: list[tuple[str, str]] | None = None) -> None:
        """Append a block to the current section; empty text is dropped. ``links``:
        (link text, URL) of the links in ``text``."""
        if text.strip():
            end = max(start_line, end_line if end_line is not None else start_line)
            kept = list(dict.fromkeys((t, u) for t, u in links or [] if t and t in text))
            self.current.blocks.append(Block(text=text, start_line=start_line, end_line=end,
                                             links=kept))

    def finish(self, allow_empty: bool = False) -> list[Section]:
        """The sections that hold text; a document with no text at all is an error, unless
        ``allow_empty`` (a redirect-only page: the sync reports it as empty, with where
        it points)."""
        kept = [s for s in self.sections if s.blocks]
        if not kept and not allow_empty:
            raise ParseError("no text found")
        return kept


def wrap_errors(what: str) -> Callable[[F], F]:
    """Turn any library exception inside a parser into a ParseError naming the format.

    Parsers raise ParseError with a precise reason where they can; this is the net for the
    malformed files nobody anticipated, so one bad document never stops a sync.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(raw: RawDocument) -> ParsedDocument:
            try:
                return func(raw)
            except ParseError:
                raise
            except Exception as exc:  # any library failure means a bad file
                reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                raise ParseError(f"unreadable {what}: {reason}") from exc

        return wrapper  # type: ignore[return-value]

    return decorate
