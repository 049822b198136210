"""Markdown parsing (front matter, template tags, anchors) and token-limited chunking."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.chunking import Chunker
from indexer.config import ChunkingSettings
from indexer.documents import RawDocument
from indexer.errors import ParseError
from indexer.parsing import parse_document
from indexer.parsing.cleaning import TemplateCleaner
from tests.conftest import shared_data

TEMPLATED = """---
title: Travel
audience: [managers, finance]
redirect_from: [/old/]
---
# Travel

{% comment %}
Internal note: do not publish this paragraph.
{% endcomment %}
Ask in {% slack_channel "travel-help" %} before booking.
{% alert %}
Book at least 14 days ahead.
{% endalert %}
See [the guide]({% page "/travel/guide/" %}) and {{ site.baseurl }}.

## Per diem

| City | Rate |
|------|------|
| Lisbon | EUR 60 |

- Keep receipts
- Submit in 30 days
"""


def md(text: str, path: str = "travel.md") -> Any:
    return parse_document(RawDocument(path, "v1", text.encode(), "markdown"))


def test_front_matter_and_template_tags() -> None:
    doc = md(TEMPLATED)
    assert doc.title == "Travel" and doc.audience == ["managers", "finance"]
    text = "\n".join(b.text for s in doc.sections for b in s.blocks)
    assert "{%" not in text and "{{" not in text and "Internal note" not in text
    assert "Ask in #travel-help before booking." in text
    assert "Book at least 14 days ahead." in text
    assert "See the guide and ." in text
    per_diem = doc.sections[-1]
    assert per_diem.path == "Travel › Per diem" and per_diem.anchor == "per-diem"
    assert [b.text for b in per_diem.blocks] == [
        "City: Lisbon; Rate: EUR 60", "- Keep receipts", "- Submit in 30 days"]
    # line numbers survive the removed front matter and comment block
    assert per_diem.blocks[0].start_line == TEMPLATED.splitlines().index("| Lisbon | EUR 60 |") + 1


def test_cleaning_is_configurable() -> None:
    raw = RawDocument("x.md", "v", b"# T\n\nKeep {% raw %}this{% endraw %} [[DRAFT]] text\n",
                      "markdown")
    off = parse_document(raw, TemplateCleaner(enabled=False))
    assert "{% raw %}" in off.sections[0].blocks[0].text
    custom = parse_document(raw, TemplateCleaner(extra_patterns=[r"\[\[DRAFT\]\]"]))
    assert custom.sections[0].blocks[0].text == "Keep this text"


@pytest.mark.parametrize("bad, reason", [
    ("---\ntitle: [oops\n---\n# X\n", "not valid YAML"),
    ("---\n- a list\n---\n# X\n", "must be a mapping"),
    ("---\naudience: {a: 1}\n---\n# X\n", "audience"),
])
def test_bad_front_matter_is_a_parse_error(bad: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        md(bad)


def test_title_falls_back_to_h1_then_file_name() -> None:
    assert md("# Remote work\n\nText.\n").title == "Remote work"
    assert md("Just text.\n", "people/sick-leave.md").title == "Sick leave"


def test_repeated_headings_get_unique_anchors() -> None:
    doc = md("# A\n\n## FAQ\n\nOne.\n\n## FAQ\n\nTwo.\n")
    assert [s.anchor for s in doc.sections] == ["faq", "faq-1"]


@pytest.fixture(scope="module")
def chunker(embedder: Any) -> Chunker:
    return Chunker(embedder.tokenizer, ChunkingSettings(), embedder.max_tokens)


def _real_tokens(embedder: Any, texts: list[str]) -> list[int]:
    return embedder.count_tokens(texts)


def test_long_section_splits_on_sentences_with_overlap(chunker: Chunker, embedder: Any) -> None:
    sentences = [f"Sentence number {i} explains expense rule {i} in some detail." for i in
                 range(80)]
    doc = md("# Expenses\n\n## Rules\n\n" + " ".join(sentences) + "\n")
    chunks = chunker.chunk(doc)
    assert len(chunks) > 2
    assert all(n <= 256 for n in _real_tokens(embedder, [c.embed_text for c in chunks]))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.text.splitlines()[-1] in b.text  # the last sentence is repeated: overlap
        assert a.section == b.section == "Expenses › Rules"
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)  # nothing lost
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_sentence_longer_than_the_limit_is_cut_at_words(chunker: Chunker, embedder: Any) -> None:
    words = " ".join(f"word{i}" for i in range(900))
    chunks = chunker.chunk(md(f"# Run-on\n\n{words}\n"))
    assert max(_real_tokens(embedder, [c.embed_text for c in chunks])) <= 256
    rebuilt = " ".join(c.text for c in chunks).split()
    assert rebuilt == words.split()


def test_small_sibling_sections_are_merged(chunker: Chunker) -> None:
    doc = md("# Holidays\n\n## Lisbon\n\n13 days.\n\n## Toronto\n\n12 days.\n\n"
             "# Other\n\n" + "Long text here. " * 80 + "\n")
    chunks = chunker.chunk(doc)
    first = chunks[0]
    assert "13 days." in first.text and "Toronto" in first.text and "12 days." in first.text
    assert first.section == "Holidays" and first.anchor == "lisbon"
    assert all("Long text" not in c.text for c in chunks[:1])


def test_real_corpora_chunks_fit_the_model(chunker: Chunker, embedder: Any) -> None:
    """Both handbooks, with their front matter and template tags: every chunk fits."""
    roots = [shared_data("corpora", "18f-tts-handbook", "pages"),
             shared_data("corpora", "sourcegraph-handbook")]
    texts, docs = [], 0
    for root in roots:
        for f in sorted(root.rglob("*.md")):
            doc = parse_document(RawDocument(str(f.relative_to(root)), "v", f.read_bytes(),
                                             "markdown"))
            chunks = chunker.chunk(doc)
            docs += 1
            texts += [c.embed_text for c in chunks]
            for c in chunks:
                assert "{%" not in c.text and "{{" not in c.text, (f, c.text[:80])
                assert 1 <= c.start_line <= c.end_line
    assert docs > 400 and len(texts) > 3000
    counts = _real_tokens(embedder, texts)
    assert max(counts) <= 256
    assert sorted(counts)[len(counts) // 2] > 60  # not shredded into tiny pieces
