"""Markdown with optional YAML front matter → heading-structured sections.

markdown-it-py gives block tokens with source line maps, so every block keeps the line
range it came from, and heading anchors follow GitHub's slugs for deep links.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from indexer.dating import metadata_date
from indexer.documents import Block, ParsedDocument, RawDocument, Section
from indexer.errors import ParseError
from indexer.parsing.cleaning import TemplateCleaner
from indexer.parsing.slug import Slugger
from indexer.parsing.util import (
    decode_text,
    relative_link,
    safe_link,
    stem_title,
    table_row,
)

_FRONT = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_MD = MarkdownIt("commonmark").enable("table")
_TAGS = re.compile(r"<[^>]+>")
# A reference link whose definition is missing (or was a template tag the cleaner removed):
# CommonMark leaves "[text][ref]" as it is; the reader gets the text.
_UNRESOLVED = re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]")
# Reference definitions left without a destination ("[guide]:" once the cleaner removed
# its "{% page ... %}" tag): markup, not prose.
_DANGLING = re.compile(r"(?:\[[^\[\]\n]+\]:\s*)+")
# An inline link markdown-it refused (``javascript:``, ``vbscript:``...): the reader gets
# the text, never the markup or the script.
_REFUSED = re.compile(r"\[([^\[\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))*\)")


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load without anchors and aliases: 359 bytes of nested ``*a`` references
    expand to tens of millions of characters, and policy front matter never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.YAMLError("anchors and aliases (&name, *name) are not allowed "
                                 "in front matter")
        return super().compose_node(parent, index)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Front matter as a dict and the body with the front matter blanked (lines kept)."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.load(match.group(1) or "", Loader=_NoAliasLoader) or {}  # noqa: S506
    except yaml.YAMLError as exc:
        raise ParseError(f"front matter is not valid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(meta, dict):
        raise ParseError("front matter must be a mapping of keys to values")
    body = "\n" * match.group(0).count("\n") + text[match.end():]
    return meta, body


def _inline_text(token: Token) -> str:
    return _inline(token)[0]


def _inline(token: Token) -> tuple[str, list[tuple[str, str]]]:
    """The plain text of an inline token and its links as (link text, URL).

    Links (inline and reference-style, which markdown-it resolves) keep their text in the
    passage and their URL beside it, when it is one a reader may follow
    (:func:`~indexer.parsing.util.safe_link`) or a link to another file of the source,
    which the sync resolves (:func:`~indexer.parsing.util.relative_link`); unresolved
    references lose their brackets."""
    parts: list[str] = []
    run: list[str] = []  # plain text outside links and code, line breaks included
    links: list[tuple[str, str]] = []
    href: str | None = None
    label: list[str] = []

    def end_run() -> None:
        # Unresolved references are looked for across a whole run of text, since a
        # label may wrap onto the next line ("[professional liability\ninsurance][x]").
        if run:
            parts.append(_REFUSED.sub(r"\1", _UNRESOLVED.sub(r"\1", "".join(run))))
            run.clear()

    for child in token.children or []:
        if child.type == "link_open":
            end_run()
            href, label = str(child.attrs.get("href") or ""), []
            continue
        if child.type == "link_close":
            text = " ".join("".join(label).split())
            url = safe_link(href) or relative_link(href)  # relative: resolved by the sync
            if text and url and (text, url) not in links:
                links.append((text, url))
            href = None
            continue
        piece = ""
        if child.type in ("text", "code_inline", "image"):
            piece = child.content
        elif child.type in ("softbreak", "hardbreak") or (
                child.type == "html_inline" and child.content.lower().startswith("<br")):
            piece = " "
        if href is not None:
            label.append(piece)
            parts.append(piece)
        elif child.type in ("text", "softbreak", "hardbreak"):
            run.append(piece)
        else:
            end_run()
            parts.append(piece)
    end_run()
    return re.sub(r"\s+", " ", "".join(parts)).strip(), links


def audience_of(meta: dict[str, Any]) -> list[str] | None:
    """The ``audience`` front-matter key as a list, None when absent."""
    value = meta.get("audience")
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ParseError("front matter 'audience' must be a list of names")
    return [str(v) for v in value if str(v).strip()]


def _title(meta: dict[str, Any]) -> str:
    """The front-matter title, which must be a single value (a list or mapping is refused)."""
    value = meta.get("title")
    if isinstance(value, dict | list | set | tuple):
        raise ParseError("front matter 'title' must be a single line of text")
    return str(value or "").strip()


def parse(raw: RawDocument, cleaner: TemplateCleaner | None = None) -> ParsedDocument:
    meta, body = split_front_matter(decode_text(raw))
    body = (cleaner or TemplateCleaner()).clean(body)
    tokens = _MD.parse(body)
    title = _title(meta)
    if not title:
        h1 = next((tokens[i + 1] for i, t in enumerate(tokens)
                   if t.type == "heading_open" and t.tag == "h1"), None)
        title = _inline_text(h1) if h1 else stem_title(raw.path)

    slugger = Slugger()
    stack: list[tuple[int, str]] = []
    sections = [Section(headings=[title])]
    list_depth, row, row_map, header = [], [], None, []
    row_links: list[tuple[str, str]] = []
    in_head = False
    container_map: list[int] | None = None
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = _inline_text(tokens[i + 1])
            level = int(tok.tag[1])
            stack = [(lv, tx) for lv, tx in stack if lv < level] + [(level, text)]
            path = [tx for _, tx in stack]
            if path and path[0].casefold() == title.casefold():
                path = path[1:]
            sections.append(Section(headings=[title, *path], anchor=slugger.slug(text),
                                    level=level))
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            list_depth.append(tok.type)
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            list_depth.pop()
        elif tok.type in ("paragraph_open", "list_item_open", "td_open", "th_open"):
            container_map = tok.map or container_map
            if tok.type == "list_item_open":
                row_map = tok.map
        elif tok.type in ("thead_open", "thead_close"):
            in_head = tok.type == "thead_open"
        elif tok.type == "tr_open":
            row, row_map, row_links = [], tok.map, []
        elif tok.type == "tr_close" and row:
            if in_head:
                header = row
            else:
                _add(sections[-1], table_row(header, row), row_map, row_links)
        elif tok.type == "inline" and tokens[i - 1].type != "heading_open":
            text, links = _inline(tok)
            if not text or _DANGLING.fullmatch(text):
                continue
            if tokens[i - 1].type in ("td_open", "th_open"):
                row.append(text)
                row_links += links
            elif list_depth:
                _add(sections[-1], "- " + text, tok.map or row_map, links)
            else:
                _add(sections[-1], text, tok.map or container_map, links)
        elif tok.type in ("fence", "code_block"):
            _add(sections[-1], tok.content.strip(), tok.map)
        elif tok.type == "html_block":
            _add(sections[-1], re.sub(r"\s+", " ", _TAGS.sub(" ", tok.content)).strip(),
                 tok.map)
    kept = [s for s in sections if s.blocks]  # may be empty: a redirect or stub page
    return ParsedDocument(title=title, sections=kept, metadata=meta,
                          audience=audience_of(meta), dated=metadata_date(meta))


def _add(section: Section, text: str, line_map: list[int] | None,
         links: list[tuple[str, str]] | None = None) -> None:
    if not text:
        return
    start, end = (line_map[0] + 1, max(line_map[1], line_map[0] + 1)) if line_map else (0, 0)
    section.blocks.append(Block(text=text, start_line=start, end_line=end,
                                links=[(t, u) for t, u in links or [] if t in text]))
