"""Heading-aware chunks that always fit the embedding model.

Lengths are counted with the model's own tokenizer: a chunk longer than the model's
limit would be silently truncated and its tail never found. Small sibling sections are
merged so that a two-line section does not become a weak, context-free vector; long
sections are split on sentence boundaries with a little overlap.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from indexer.config import ChunkingSettings
from indexer.documents import Chunk, ParsedDocument, Section

_SENTENCE = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[A-Z0-9])")
SPECIAL_TOKENS = 2  # [CLS] and [SEP]


@dataclass
class _Unit:
    text: str
    start: int
    end: int
    tokens: int
    anchor: str | None = None  # the section this text is under: merged chunks hold several
    section: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (link text, URL) in text


@dataclass
class _Piece:
    headings: list[str]
    anchor: str | None
    units: list[_Unit]

    @property
    def tokens(self) -> int:
        return sum(u.tokens for u in self.units)


class Chunker:
    """Splits a :class:`ParsedDocument` into :class:`Chunk` objects within a token budget."""

    def __init__(self, tokenizer: Any, settings: ChunkingSettings, model_max_tokens: int):
        # The raw `tokenizers` object: several times faster than the transformers wrapper
        # for counting, and a copy so that truncation settings cannot shorten a count.
        self.tok = copy.deepcopy(getattr(tokenizer, "backend_tokenizer", tokenizer))
        self.tok.no_truncation()
        self.tok.no_padding()
        self.max_tokens = min(settings.max_tokens, model_max_tokens)
        self.target = min(settings.target_tokens, self.max_tokens)
        self.min_tokens = settings.min_tokens
        self.overlap = settings.overlap_tokens

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self.tok.encode_batch(texts, add_special_tokens=False)]

    def chunk(self, doc: ParsedDocument) -> list[Chunk]:
        # One tokenizer call for every block and heading path of the document.
        blocks = [b for s in doc.sections for b in s.blocks]
        counts = self.count([b.text for b in blocks] + [s.path for s in doc.sections])
        self._known = {s.path: n for s, n in zip(doc.sections, counts[len(blocks):],
                                                  strict=True)}
        block_counts = iter(counts[: len(blocks)])
        pieces: list[_Piece] = []
        for section in doc.sections:
            budget = self.target - SPECIAL_TOKENS - self._prefix_tokens(section.path) - 1
            section_counts = [next(block_counts) for _ in section.blocks]
            pieces.extend(self._split(section, section_counts, max(budget, 16)))
        chunks: list[Chunk] = []
        for piece in self._merge(pieces):
            chunks.extend(self._finish(piece, len(chunks), self._estimate(piece)))
        return chunks

    def _estimate(self, piece: _Piece) -> int:
        """Tokens of the embed text. WordPiece splits on whitespace, so the parts add up;
        near the limit, where an estimate could be off for other tokenizers, count."""
        n = self._prefix_tokens(" › ".join(piece.headings)) + piece.tokens + SPECIAL_TOKENS
        if n > self.max_tokens - 8:
            n = self.count([_embed_text(piece)])[0] + SPECIAL_TOKENS
        return n

    # -- splitting ---------------------------------------------------------------------
    def _prefix_tokens(self, prefix: str) -> int:
        if prefix not in self._known:
            self._known[prefix] = self.count([prefix])[0]
        return self._known[prefix]

    def _units(self, section: Section, counts: list[int], budget: int) -> list[_Unit]:
        units: list[_Unit] = []
        where = {"anchor": section.anchor, "section": section.path}
        for block, n in zip(section.blocks, counts, strict=True):
            if n <= budget:
                units.append(_Unit(block.text, block.start_line, block.end_line, n, **where,
                                   links=block.links))
                continue
            sentences = [s for s in _SENTENCE.split(block.text) if s.strip()]
            for sentence, m in zip(sentences, self.count(sentences), strict=True):
                parts = [sentence] if m <= budget else self._hard_split(sentence, budget)
                for part, k in zip(parts, self.count(parts), strict=True):
                    units.append(_Unit(part, block.start_line, block.end_line, k, **where,
                                       links=[x for x in block.links if x[0] in part]))
        return units

    def _hard_split(self, text: str, budget: int) -> list[str]:
        """Cut a sentence with no usable boundary at word edges, ``budget`` tokens at most."""
        offsets = self.tok.encode(text, add_special_tokens=False).offsets
        parts, start_tok = [], 0
        while start_tok < len(offsets):
            end_tok = min(start_tok + budget, len(offsets))
            while end_tok < len(offsets) and end_tok > start_tok + 1 and \
                    offsets[end_tok][0] == offsets[end_tok - 1][1]:
                end_tok -= 1  # do not cut inside a word
            parts.append(text[offsets[start_tok][0]:offsets[end_tok - 1][1]].strip())
            start_tok = end_tok
        return [p for p in parts if p]

    def _split(self, section: Section, counts: list[int], budget: int) -> list[_Piece]:
        units = self._units(section, counts, budget)
        pieces: list[_Piece] = []
        current: list[_Unit] = []
        for unit in units:
            if current and sum(u.tokens for u in current) + unit.tokens > budget:
                pieces.append(_Piece(section.headings, section.anchor, current))
                current = self._overlap_tail(current, budget - unit.tokens)
            current.append(unit)
        if current:
            pieces.append(_Piece(section.headings, section.anchor, current))
        return pieces

    def _overlap_tail(self, units: list[_Unit], room: int) -> list[_Unit]:
        tail: list[_Unit] = []
        for unit in reversed(units):
            if sum(u.tokens for u in tail) + unit.tokens > min(self.overlap, room):
                break
            tail.insert(0, unit)
        return tail

    # -- merging -----------------------------------------------------------------------
    def _merge(self, pieces: list[_Piece]) -> list[_Piece]:
        merged: list[_Piece] = []
        for piece in pieces:
            prev = merged[-1] if merged else None
            if prev and prev.tokens < self.min_tokens and self._related(prev, piece):
                headings = _common(prev.headings, piece.headings)
                heading_unit = []
                if piece.headings != prev.headings:
                    title = piece.headings[-1]
                    first = piece.units[0].start if piece.units else 0
                    heading_unit = [_Unit(title, first, first, self.count([title])[0],
                                          piece.anchor, " › ".join(piece.headings))]
                combined = prev.units + heading_unit + piece.units
                budget = self.target - SPECIAL_TOKENS - self._prefix_tokens(" › ".join(headings))
                if sum(u.tokens for u in combined) + len(combined) <= budget:
                    merged[-1] = _Piece(headings, prev.anchor, combined)
                    continue
            merged.append(piece)
        return merged

    @staticmethod
    def _related(prev: _Piece, nxt: _Piece) -> bool:
        """Siblings, or a parent's short intro followed by its first child."""
        parent = prev.headings[:-1] or prev.headings
        return nxt.headings[: len(parent)] == parent

    def _finish(self, piece: _Piece, ordinal: int, tokens: int) -> list[Chunk]:
        """The chunk for ``piece``; halved again in the rare case the estimate was short."""
        section = " › ".join(piece.headings)
        text = "\n".join(u.text for u in piece.units)
        embed_text = _embed_text(piece)
        if tokens > self.max_tokens:
            half = len(piece.units) // 2
            if half == 0:
                embed_text = text
                tokens = self.count([text])[0] + SPECIAL_TOKENS
            else:
                out: list[Chunk] = []
                for part in (piece.units[:half], piece.units[half:]):
                    sub = _Piece(piece.headings, piece.anchor, part)
                    n = self.count([_embed_text(sub)])[0] + SPECIAL_TOKENS
                    out.extend(self._finish(sub, ordinal + len(out), n))
                return out
        return [Chunk(ordinal=ordinal, section=section, text=text, embed_text=embed_text,
                      start_line=min(u.start for u in piece.units),
                      end_line=max(u.end for u in piece.units), anchor=piece.anchor,
                      tokens=tokens, spans=_spans(piece.units),
                      links=list(dict.fromkeys(x for u in piece.units for x in u.links)))]


def _spans(units: list[_Unit]) -> list[tuple[int, str | None, str]]:
    """(offset in the chunk's text, anchor, heading path) where each section's text
    starts, when small sections were merged into this chunk; empty for one section. A
    citation then links to the section that holds the quoted sentence, not the first."""
    spans: list[tuple[int, str | None, str]] = []
    offset = 0
    for u in units:
        if not spans or (spans[-1][1], spans[-1][2]) != (u.anchor, u.section):
            spans.append((offset, u.anchor, u.section))
        offset += len(u.text) + 1  # the "\n" that joins units
    return spans if len(spans) > 1 else []


def _embed_text(piece: _Piece) -> str:
    """What the model embeds: the heading path gives a short passage its context."""
    return " › ".join(piece.headings) + "\n" + "\n".join(u.text for u in piece.units)


def _common(a: list[str], b: list[str]) -> list[str]:
    out = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        out.append(x)
    return out or a[:1]
