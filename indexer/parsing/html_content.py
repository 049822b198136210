"""Finding the main content of an HTML page, and where its elements sit in the source.

Intranet and wiki pages wrap a policy in navigation, banners, cookie notices and footers.
Indexed, that chrome would show up in every answer's sources, so it is removed first.
Matching is deliberately conservative: whole class tokens and landmark roles only.
"""

from __future__ import annotations

import difflib
import re

import lxml.html
from bs4 import BeautifulSoup, Tag

_DROP_TAGS = ["script", "style", "noscript", "template", "svg", "form", "button", "nav",
              "aside", "iframe"]
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_DROP_TOKENS = {"nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "sidebar",
                "footer", "site-footer", "site-header", "cookie-banner", "cookie-consent",
                "cookie-notice", "skip-link", "toc"}
_KEEP_ALWAYS = {"html", "body", "main", "article"}
_SECTIONING = ["article", "main", "section"]
_MAX_ALIGN = 3000
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _is_chrome(tag: Tag) -> bool:
    """True for page furniture: landmarks, nav-like class/id tokens, hidden elements."""
    if tag.name in ("header", "footer"):
        # Only site-level ones; an <article>'s own header often holds its <h1>.
        return tag.find_parent(_SECTIONING) is None
    if tag.name in _KEEP_ALWAYS:
        return False
    attrs = tag.attrs or {}
    if str(attrs.get("role", "")).lower() in _DROP_ROLES:
        return True
    classes = attrs.get("class") or []
    tokens = {c.lower() for c in (classes if isinstance(classes, list) else str(classes).split())}
    if str(attrs.get("id", "")).lower() in _DROP_TOKENS or tokens & _DROP_TOKENS:
        return True
    return ("hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true"
            or bool(_HIDDEN_STYLE.search(str(attrs.get("style", "")))))


def strip_chrome(soup: BeautifulSoup) -> None:
    """Remove scripts, forms, navigation, banners and footers in place."""
    doomed = soup.find_all(_DROP_TAGS) + [t for t in soup.find_all(True) if _is_chrome(t)]
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()


def content_root(soup: BeautifulSoup) -> Tag | None:
    """<main>, else a lone <article>, else [role=main], else <body>: the first with text."""
    articles = soup.find_all("article")
    candidates = [soup.find("main"), articles[0] if len(articles) == 1 else None,
                  soup.find(attrs={"role": "main"}), soup.body]
    for tag in candidates:
        if isinstance(tag, Tag) and tag.get_text(strip=True):
            return tag
    return None


def attach_source_lines(soup: BeautifulSoup, content: bytes) -> None:
    """Set ``tag.sourceline`` from lxml, which knows it while bs4's lxml builder does not.

    Both run libxml2's HTML parser, so elements line up in document order; a sequence
    match keeps the mapping right even where the two trees differ slightly.
    """
    try:
        root = lxml.html.document_fromstring(content)
    except Exception:  # unparseable by lxml alone: blocks just get approximate lines
        return
    theirs = [el for el in root.iter() if isinstance(el.tag, str)]
    ours = soup.find_all(True)
    a, b = [t.name for t in ours], [str(el.tag).lower() for el in theirs]
    if a == b:
        pairs = zip(ours, theirs, strict=True)
    elif len(a) <= _MAX_ALIGN:  # alignment is quadratic at worst; big odd pages go without
        blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        pairs = ((ours[m.a + i], theirs[m.b + i]) for m in blocks for i in range(m.size))
    else:
        return
    for tag, element in pairs:
        tag.sourceline = element.sourceline
