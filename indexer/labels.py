"""How a document's title and a passage's heading path read together in a citation.

A stored heading path starts with the document's title (so a bare heading still says which
document it is in, and the embedded chunk text carries it), and most documents open with a
heading equal to their title. Shown beside the title, that read "Annual leave — Annual leave
› How much leave you get" and "Transit Benefit — Transit Benefit". The repeat is dropped
here, where a label is shown, not in the stored rows: changing those would change the
embedded text and re-embed every index.
"""

from __future__ import annotations

SEPARATOR = " › "  # how indexer.documents.Section.path joins headings


def _same(a: str, b: str) -> bool:
    """Case- and spacing-insensitive, as the parsers compare headings with titles."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def section_label(title: str, section: str) -> str:
    """``section`` without the leading heading(s) that repeat ``title``; "" when nothing
    but the title is left (the passage is the document's opening text)."""
    parts = [p.strip() for p in section.split(SEPARATOR)]
    while parts and title.strip() and _same(parts[0], title):
        parts = parts[1:]
    return SEPARATOR.join(p for p in parts if p)


def citation_label(title: str, section: str) -> str:
    """``Title — Section › Subsection`` for a citation, or just ``Title`` when the section
    only repeats it."""
    rest = section_label(title, section)
    title = title.strip()
    if not title:
        return rest
    return f"{title} — {rest}" if rest else title


__all__ = ["SEPARATOR", "citation_label", "section_label"]
