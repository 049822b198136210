"""Finding a web source's pages: source-relative paths, robots.txt rules and sitemaps.

Kept apart from the HTTP client: each helper takes a plain fetch callable, so the
rules (what counts as allowed, how deep sitemap indexes go) can be read on their own.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from indexer.errors import SourceError

log = logging.getLogger(__name__)

SITEMAP_MAX_DEPTH = 3  # index → index → index → urlset
SITEMAP_MAX_FILES = 500


def host_of(url: str) -> str:
    """Host (and port) of a URL, lower-cased and without any user:password@."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def origin(url: str) -> str:
    """scheme://host[:port], the unit robots.txt and path roots are kept per."""
    return f"{urlsplit(url).scheme.lower()}://{host_of(url)}"


def doc_path(url: str, root: str) -> str:
    """Source-relative path of a page: readable, and stable while the root host is.

    Pages on the root origin get their path without the leading '/' (plus "?query");
    the site root itself is "/". Pages elsewhere are prefixed with their host.
    """
    parts = urlsplit(url)
    rel = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.query:
        rel = f"{rel}?{parts.query}"
    if origin(url) != root:
        return f"{host_of(url)}/{rel}"
    return rel or "/"


class RobotsRules:
    """robots.txt verdicts, fetched once per origin and cached until :meth:`clear`.

    ``fetch(url)`` returns ``(status, text)`` or raises SourceError when unreachable.
    A missing robots.txt allows everything; an unreachable or failing one is treated
    the same (with a warning) so a flaky robots.txt cannot empty the index; 401/403
    disallow everything, as urllib.robotparser does.
    """

    def __init__(self, fetch: Callable[[str], tuple[int, str]], user_agent: str) -> None:
        self._fetch = fetch
        self._agent = user_agent
        self._parsers: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget cached files so the next check re-reads them (once per listing)."""
        with self._lock:
            self._parsers.clear()

    def allowed(self, url: str) -> bool:
        """Whether our user agent may fetch ``url``."""
        return self._parser(url).can_fetch(self._agent, url)

    def sitemaps(self, url: str) -> list[str]:
        """The sitemaps the robots.txt of ``url``'s site names (its ``Sitemap:`` lines;
        none when it has no readable robots.txt), from the same cached file."""
        return list(self._parser(url).site_maps() or [])

    def _parser(self, url: str) -> RobotFileParser:
        key = origin(url)
        with self._lock:
            parser = self._parsers.get(key)
            if parser is None:
                parser = self._parsers[key] = self._load(f"{key}/robots.txt")
        return parser

    def _load(self, robots_url: str) -> RobotFileParser:
        parser = RobotFileParser(robots_url)
        try:
            status, text = self._fetch(robots_url)
        except SourceError as exc:
            log.warning("robots.txt unreachable, allowing all pages: %s", exc)
            parser.allow_all = True
            return parser
        if 200 <= status < 300:
            parser.parse(text.splitlines())
        elif status in (401, 403):
            log.warning("%s answered HTTP %d; treating every page as disallowed",
                        robots_url, status)
            parser.disallow_all = True
        else:
            if status >= 500:
                log.warning("%s answered HTTP %d; allowing all pages", robots_url, status)
            parser.allow_all = True
        return parser


def _local(tag: str) -> str:
    """Element name without its XML namespace."""
    return tag.rpartition("}")[2]


def _locs(root: ET.Element, entry: str) -> list[str]:
    """The <loc> texts of each <entry> child of ``root``, in document order."""
    found = []
    for element in root:
        if _local(element.tag) != entry:
            continue
        for child in element:
            if _local(child.tag) == "loc" and child.text and child.text.strip():
                found.append(child.text.strip())
    return found


def sitemap_locs(fetch: Callable[[str], bytes], url: str,
                 max_depth: int = SITEMAP_MAX_DEPTH,
                 max_files: int = SITEMAP_MAX_FILES,
                 allowed: Callable[[str], bool] = lambda _url: True) -> list[str]:
    """Every page <loc> under a sitemap, following sitemap index files.

    Any failure raises SourceError rather than returning a partial list, because a
    short listing would make the sync delete the pages it missed. A nested sitemap
    that ``allowed`` refuses (another host) is skipped, not fetched; page entries are
    returned as found, for the caller to filter.
    """
    pages: list[str] = []
    queue = deque([(url, 0)])
    seen = {url}
    while queue:
        current, depth = queue.popleft()
        body = fetch(current)
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise SourceError(f"sitemap {current}: malformed XML: {exc}") from exc
        kind = _local(root.tag)
        if kind == "urlset":
            pages.extend(urljoin(current, loc) for loc in _locs(root, "url"))
        elif kind == "sitemapindex":
            for loc in _locs(root, "sitemap"):
                child = urljoin(current, loc)
                if child in seen or not allowed(child):
                    continue
                if depth + 1 > max_depth:
                    raise SourceError(f"sitemap {child}: sitemap indexes nest deeper than "
                                      f"{max_depth} levels")
                if len(seen) >= max_files:
                    raise SourceError(f"sitemap {url}: more than {max_files} sitemap files")
                seen.add(child)
                queue.append((child, depth + 1))
        else:
            raise SourceError(f"sitemap {current}: not a sitemap (root element <{kind}>)")
    return pages
