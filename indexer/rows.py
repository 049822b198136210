"""From a parsed, chunked document to the rows the chunk table stores."""

from __future__ import annotations

import hashlib
import json
import posixpath
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from indexer.config import ChunkingSettings, check_audience
from indexer.dating import Dating
from indexer.documents import Chunk, ParsedDocument
from indexer.errors import ParseError
from indexer.parsing.util import safe_link
from indexer.sources.base import Source


def sha(text: str | bytes, size: int = 32) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:size]


# Bump when the code that turns a parsed document into rows changes what rows hold, so
# every document is re-derived (not re-embedded) at the next sync.
# 2: rows carry the version and date shown to readers (indexer.dating) and the sections
# merged into a chunk (``sections``) and the links in its text (``links``)
# 3: links to other files of the source resolved against its ``url`` (resolve_links),
# DOCX hyperlinks kept
ROW_FORMAT = 3
# Source keys that only decide *which* documents are fetched or *how* politely, never what
# a row of a given document holds. Every other key (audience, url, path, repo, branch,
# subdir, and any key added later) is part of the shape: fail closed, re-derive.
NOT_SHAPING = frozenset({"schedule", "include", "exclude", "urls", "sitemap", "concurrency",
                         "timeout_s", "respect_robots", "user_agent"})


def row_shape(source_config: Any, chunking: ChunkingSettings, model_id: str) -> str:
    """A fingerprint of everything besides the document itself that shapes its rows.

    Stored with every row (see :func:`doc_hash`); a document whose rows carry another
    shape is read and re-derived at the next sync, so a changed ``audience`` or ``url``
    applies without ``--full``. Vectors are reused by content hash, so nothing is
    re-embedded unless the model or the chunking changed the text."""
    config = {k: v for k, v in source_config.model_dump(mode="json").items()
              if k not in NOT_SHAPING}
    config["audience"] = sorted(set(config.get("audience") or []))
    data = {"format": ROW_FORMAT, "source": config, "model": model_id,
            "chunking": chunking.model_dump(mode="json")}
    return sha(json.dumps(data, sort_keys=True, default=str), 16)


def content_fingerprint(doc: ParsedDocument, extra_terms: str) -> str:
    """A hash of what a parsed document says: title, declared audience, searchable terms,
    heading paths, anchors and text. Not its bytes: a page whose HTML carries a fresh
    CSRF nonce or timestamp on every fetch is the same document (no "changed" alert)."""
    parts: list[Any] = [doc.title, sorted(doc.audience) if doc.audience is not None else None,
                        extra_terms]
    parts += [[s.headings, s.anchor, [b.text for b in s.blocks]] for s in doc.sections]
    return sha(json.dumps(parts, ensure_ascii=False))


def doc_hash(content: str, shape: str) -> str:
    """The ``doc_hash`` column: ``CONTENT.SHAPE``. Kept in the rows themselves, so the
    shape a document was indexed under is committed atomically with its rows."""
    return f"{content}.{shape}"


def split_doc_hash(stored: str) -> tuple[str, str]:
    """(content, shape) of a stored ``doc_hash``; rows written before shapes were stored
    hold a hash of the raw bytes and no shape, so they count as re-derivable."""
    content, _, shape = stored.partition(".")
    return content, shape


def at_least_as_restrictive(old: list[str], new: list[str]) -> bool:
    """True when rows visible to ``old`` are visible to nobody outside ``new``."""
    if not new:
        return True
    return bool(old) and set(old) <= set(new)


def content_hash(model_id: str, embed_text: str) -> str:
    """Same text under the same model → same hash → the stored vector is reused."""
    return sha(f"{model_id}\n{embed_text}")


def chunk_id(doc_id: str, section: str, ordinal: int) -> str:
    return sha(f"{doc_id}\x00{section}\x00{ordinal}", 24)


def effective_audience(source: Source, declared: list[str] | None) -> list[str]:
    """A document can narrow its source's audience, never widen it (fail closed)."""
    try:
        declared = check_audience(declared) if declared else declared
    except ValueError as exc:
        raise ParseError(str(exc)) from exc
    if not source.audience:
        return sorted(set(declared or []))
    if not declared:
        return sorted(set(source.audience))
    narrowed = sorted(set(declared) & set(source.audience))
    if not narrowed:
        raise ParseError(f"audience {declared} lies outside source audience {source.audience}")
    return narrowed


KEYWORD_KEYS = ("tags", "keywords", "aliases", "questions", "description", "summary")


def keywords(metadata: dict[str, Any], limit_words: int = 60) -> str:
    """Front-matter words written *for* search (tags, keywords, FAQ-style questions).

    "vacation" is often only a tag of the annual-leave policy; giving those words to the
    full-text index lets the asker's own vocabulary find the document."""
    words: list[str] = []
    for key in KEYWORD_KEYS:
        value = metadata.get(key)
        items = value if isinstance(value, list) else [value] if value else []
        words += [w for item in items if isinstance(item, str | int) for w in str(item).split()]
    return " ".join(words[:limit_words])


def build_rows(source: Source, path: str, version: str, doc_hash: str, title: str,
               audience: list[str], chunks: list[Chunk], space: str,
               now: datetime, line_anchors: bool = False, extra_terms: str = "",
               dating: Dating | None = None) -> list[dict[str, Any]]:
    """Rows without vectors; the sync fills ``vector`` from the store or the model.

    ``search_text`` (BM25) is the embedded text plus ``extra_terms``; ``_embed`` is what
    the model embeds and is dropped before the write. ``space`` names the vectors' space
    (model + runtime precision, :func:`indexer.embedding.vector_space`): it keys the
    content hash, so a vector is only reused within its space, and is stored per row.
    ``dating`` is what readers are shown beside the source (:mod:`indexer.dating`)."""
    doc_id = f"{source.name}:{path}"
    shown = dating or Dating("", "", "")
    return [{
        "chunk_id": chunk_id(doc_id, c.section, c.ordinal), "doc_id": doc_id,
        "source": source.name, "path": path, "title": title, "section": c.section,
        "url": source.link(path, version, _fragment(c, line_anchors)), "text": c.text,
        "search_text": f"{c.embed_text}\n{extra_terms}" if extra_terms else c.embed_text,
        "_embed": c.embed_text,
        "vector": None, "content_hash": content_hash(space, c.embed_text),
        "doc_hash": doc_hash, "doc_version": version, "updated_at": now,
        "audience": audience, "start_line": c.start_line, "end_line": c.end_line,
        "ordinal": c.ordinal, "embedding": space,
        "version_label": shown.version, "doc_date": shown.date or None,
        "dated_by": shown.kind or None, "sections": _sections(source, path, version, c),
        "links": _links(resolve_links(source, path, version, c.links)),
    } for c in chunks]


def _links(links: list[tuple[str, str]]) -> str | None:
    return json.dumps(links, ensure_ascii=False) if links else None


def resolve_links(source: Source, path: str, version: str,
                  links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Links as readers can follow them: absolute http(s) and mailto links as they are;
    a link to another file of the source (``../forms/leave.md``, ``./travel.md#per-diem``,
    ``#per-diem``), which the parser keeps as written, made absolute the way citations
    are, through the source's ``url`` template (:meth:`Source.link`) and the document's
    version. Dropped: a path that leaves the source, and any link that does not come out
    absolute (a folder without a ``url`` links to ``file:`` paths nobody else can open)."""
    out: list[tuple[str, str]] = []
    for text, url in links:
        found = safe_link(url)
        if found is None:
            target = _relative_target(path, url)
            found = safe_link(source.link(target[0], version, target[1])) if target else None
        if found and (text, found) not in out:
            out.append((text, found))
    return out


def _relative_target(path: str, href: str) -> tuple[str, str | None] | None:
    """(path in the source, fragment) of a relative link from the document at ``path``;
    None when it leads outside the source."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or parts.path.startswith("/"):
        return None
    fragment = unquote(parts.fragment) or None
    if not parts.path:
        return path, fragment
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), unquote(parts.path)))
    if joined in (".", "..") or joined.startswith(("../", "/")):
        return None
    return joined, fragment


def _sections(source: Source, path: str, version: str, chunk: Chunk) -> str | None:
    """The ``sections`` column: JSON ``[[offset, url, heading path], ...]`` for a chunk
    that merged small sections (None for one section), so a quote from its second section
    links there (``model.citations.cite``) and not to the first section's anchor."""
    if not chunk.spans:
        return None
    return json.dumps([[offset, source.link(path, version, anchor), section]
                       for offset, anchor, section in chunk.spans], ensure_ascii=False)


def _fragment(chunk: Chunk, line_anchors: bool) -> str | None:
    """Heading anchor where the format has one; a GitHub-style line range for plain text."""
    if chunk.anchor:
        return chunk.anchor
    if line_anchors and chunk.start_line:
        return f"L{chunk.start_line}-L{chunk.end_line}"
    return None
