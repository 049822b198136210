"""HTML pages → heading-structured sections of main-content text.

Only the main content is kept (see :mod:`indexer.parsing.html_content`). Sections follow
the h1–h6 outline and link to the heading's ``id`` (or the slug a site generator would
give it), so a citation opens the page at the right heading.
"""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup, CData, NavigableString, Tag

from indexer.dating import metadata_date
from indexer.documents import ParsedDocument, RawDocument
from indexer.parsing.html_content import attach_source_lines, content_root, strip_chrome
from indexer.parsing.outline import Outline, collapse, wrap_errors
from indexer.parsing.slug import Slugger
from indexer.parsing.util import relative_link, safe_link, stem_title, table_row

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {"p", "li", "blockquote", "dd", "dt", "figcaption", "caption"}
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font",
           "i", "img", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span",
           "strong", "sub", "sup", "time", "u", "var", "wbr"}
_PERMALINK = "¶#🔗 \t\n"


def text_of(tag: Tag) -> str:
    """Visible text with spaces where block boundaries or <br> separate words."""
    parts: list[str] = []
    for node in tag.descendants:
        if type(node) in (NavigableString, CData):
            parts.append(str(node))
        elif isinstance(node, Tag) and node.name not in _INLINE:
            parts.append(" ")
    return collapse("".join(parts))


class _Walker:
    """Walks the content in document order, turning elements into sections and blocks."""

    def __init__(self, outline: Outline, total_lines: int, base: str | None = None) -> None:
        self.outline = outline
        self.base = base  # the page's own URL: relative links resolve against it
        self.links: list[tuple[str, str]] = []  # links in the running text
        self.slugger = Slugger()
        self.total = max(1, total_lines)
        self.line = 1  # source line of the latest element entered
        self.buffer: list[str] = []
        self.start = 1
        self.prefix = ""
        self.header: list[str] = []  # the current table's header cells

    def _enter(self, tag: Tag) -> int:
        if tag.sourceline:
            self.line = max(self.line, min(tag.sourceline, self.total))
        return self.line

    def flush(self) -> None:
        raw = "".join(self.buffer).strip()
        self.buffer = []
        if collapse(raw):
            end = min(self.start + raw.count("\n"), self.total)
            self.outline.add(self.prefix + collapse(raw), self.start, end, self.links)
            self.prefix = ""
        self.links = []

    def _link(self, tag: Tag) -> tuple[str, str] | None:
        """(text, absolute URL) of an ``<a href>`` a reader may follow (see safe_link)."""
        href = str(tag.get("href") or "").strip()
        if not href or href.startswith("#"):
            return None
        # without the page's own URL (a file in a folder), a relative link is kept as
        # written and resolved by the sync against the source's url (rows.resolve_links)
        url = safe_link(urljoin(self.base, href)) if self.base else \
            safe_link(href) or relative_link(href)
        text = text_of(tag)
        return (text, url) if url and text else None

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if type(child) in (NavigableString, CData):
                if not self.buffer:
                    lead = len(child) - len(child.lstrip())
                    self.start = min(self.line + child[:lead].count("\n"), self.total)
                self.buffer.append(str(child))
            elif isinstance(child, Tag):
                self._element(child)

    def _element(self, tag: Tag) -> None:
        line = self._enter(tag)
        name = tag.name
        if name == "br":
            self.buffer.append(" ")
        elif name in _INLINE:
            found = self._link(tag) if name == "a" else None
            if found:
                self.links.append(found)
            self.walk(tag)
        elif name in _HEADINGS:
            self.flush()
            self._heading(tag)
        elif name in ("tr", "pre"):
            self.flush()
            if name == "tr":
                tags = tag.find_all(["td", "th"], recursive=False)
                cells = [text_of(c) for c in tags]
                if tags and all(c.name == "th" for c in tags):
                    self.header, text = cells, ""  # rows below are keyed by it
                else:
                    text = table_row(self.header, cells) if any(cells) else ""
            else:
                text = tag.get_text().strip("\n").rstrip()
            links = [x for x in (self._link(a) for a in tag.find_all("a")) if x]
            self.outline.add(text, line, min(line + tag.get_text().strip().count("\n"),
                                             self.total), links)
        else:  # paragraphs, list items, and containers alike end the running text
            self.flush()
            if name == "table":
                self.header = []
            if name == "li":
                self.prefix = "- "
            self.walk(tag)
            self.flush()
            if name in _BLOCKS:
                self.prefix = ""

    def _heading(self, tag: Tag) -> None:
        text = text_of(tag).rstrip(_PERMALINK)
        if not text:
            return
        named = tag.find(lambda t: t.name == "a" and (t.get("id") or t.get("name")))
        anchor = tag.get("id") or (named and (named.get("id") or named.get("name")))
        anchor = str(anchor) if anchor else self.slugger.slug(text)
        self.outline.open(text, _HEADINGS[tag.name], anchor)


def _metadata(soup: BeautifulSoup) -> tuple[dict[str, str], list[str] | None]:
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        name, content = tag.get("name"), tag.get("content")
        if name and content is not None:
            meta[str(name).lower()] = str(content).strip()
        equiv = tag.get("http-equiv")
        if equiv and str(equiv).lower() == "refresh" and content is not None:
            meta["refresh"] = str(content).strip()  # a redirect-only page says where to
    audience = meta.get("audience")
    names = [a.strip() for a in audience.split(",") if a.strip()] if audience is not None else None
    return meta, names


@wrap_errors("HTML page")
def parse(raw: RawDocument) -> ParsedDocument:
    """Main-content sections of an HTML page, with heading-path anchors."""
    soup = BeautifulSoup(raw.content, "lxml")
    attach_source_lines(soup, raw.content)
    meta, audience = _metadata(soup)
    page_title = collapse(soup.title.get_text()) if soup.title else ""
    strip_chrome(soup)
    root = content_root(soup)
    h1 = root.find("h1") if root else None
    title = (text_of(h1).rstrip(_PERMALINK) if h1 else "") or page_title or stem_title(raw.path)
    outline = Outline(title)
    moves = redirects_at_once(meta.get("refresh", ""))
    if root is not None and not moves:
        _Walker(outline, raw.content.count(b"\n") + 1, raw.url).walk(root)
    return ParsedDocument(title=title, sections=outline.finish(moves or "refresh" in meta),
                          metadata=meta, audience=audience, dated=metadata_date(meta))


def redirects_at_once(refresh: str) -> bool:
    """True for a ``<meta http-equiv="refresh">`` that sends the reader elsewhere within a
    second: nobody reads such a page, so its "Redirecting… click here" text is not policy
    (a generated redirect page is reported as empty, not indexed)."""
    delay, _, rest = refresh.partition(";")
    try:
        seconds = float(delay.strip() or "0")
    except ValueError:
        return False
    return seconds <= 1 and "url=" in rest.lower().replace(" ", "")
