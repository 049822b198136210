"""Parser bombs are refused with a clear reason before they cost memory: a DOCX whose
XML inflates hugely, a zip of absurd compression ratio, and a few hundred bytes of YAML
aliases that would expand into a title of tens of millions of characters."""

from __future__ import annotations

import zipfile
from io import BytesIO

import docx
import pytest

from indexer.documents import RawDocument
from indexer.errors import ParseError
from indexer.parsing import parse_document


def _docx(text: str = "Leave is 25 days.") -> bytes:
    doc = docx.Document()
    doc.add_heading("Leave", level=1)
    doc.add_paragraph(text)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def _inflate_document_xml(small: bytes, padding: int) -> bytes:
    """The same DOCX with ``padding`` bytes of whitespace inside ``<w:body>``, written in
    pieces so the test itself never holds the inflated XML."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(small)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != "word/document.xml":
                dst.writestr(info, data)
                continue
            head, _, tail = data.partition(b"</w:body>")
            part = zipfile.ZipInfo("word/document.xml")
            part.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(part, "w", force_zip64=True) as f:
                f.write(head)
                piece = b" " * (1 << 20)
                for _ in range(padding // len(piece)):
                    f.write(piece)
                f.write(b"</w:body>" + tail)
    return out.getvalue()


def _raw(content: bytes, media_type: str = "docx", path: str = "bomb.docx") -> RawDocument:
    return RawDocument(path, "v1", content, media_type)


def test_docx_whose_xml_inflates_past_the_part_limit_is_refused_before_opening():
    bomb = _inflate_document_xml(_docx(), 80 << 20)  # 80 MiB of XML
    assert len(bomb) < 200_000
    with pytest.raises(ParseError, match="inflates to .* bytes .*zip bomb"):
        parse_document(_raw(bomb))


def test_docx_with_an_absurd_compression_ratio_is_refused():
    bomb = _inflate_document_xml(_docx(), 4 << 20)  # under the size limit, ~1000x ratio
    with pytest.raises(ParseError, match=r"inflates [\d,]+x .*zip bomb"):
        parse_document(_raw(bomb))


def test_ordinary_docx_still_parses():
    doc = parse_document(_raw(_docx("Carry over up to five days."), path="leave.docx"))
    assert "Carry over up to five days." in doc.sections[0].blocks[0].text


ALIAS_BOMB = "\n".join(
    ['---', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]"
       for p, c in zip("abcdef", "bcdefg", strict=True)]
    + ["title: *g", "---", "# Body", "", "Text."]) + "\n"


def test_yaml_alias_bomb_in_front_matter_is_refused():
    assert len(ALIAS_BOMB.encode()) < 360  # 9**7 'lol's: a 33-million-character title
    with pytest.raises(ParseError, match="anchors and aliases"):
        parse_document(_raw(ALIAS_BOMB.encode(), "markdown", "bomb.md"))


@pytest.mark.parametrize("front", ["title: [a, b]", "title: {x: 1}"])
def test_front_matter_title_must_be_a_single_value(front):
    text = f"---\n{front}\n---\n# Heading\n\nBody.\n"
    with pytest.raises(ParseError, match="'title' must be a single line"):
        parse_document(_raw(text.encode(), "markdown", "t.md"))


def test_plain_front_matter_still_parses():
    text = "---\ntitle: Annual leave\ntags: [vacation, pto]\n---\n# Leave\n\n25 days.\n"
    doc = parse_document(_raw(text.encode(), "markdown", "leave.md"))
    assert doc.title == "Annual leave" and doc.metadata["tags"] == ["vacation", "pto"]


# -- the per-document budget (worker process) ---------------------------------------------

def _big_markdown(paragraphs: int) -> RawDocument:
    body = "".join(f"## Section {i}\n\nParagraph {i} with *some* `inline` [links](x).\n\n"
                   for i in range(paragraphs))
    return _raw(("# Big\n\n" + body).encode(), "markdown", "big.md")


def test_a_document_over_the_memory_budget_fails_alone_and_the_next_one_parses():
    from indexer.config import ParsingSettings
    from indexer.parsing.sandbox import close_workers, parse_isolated

    tight = ParsingSettings(memory_mb=64, timeout_s=60)
    try:
        with pytest.raises(ParseError, match=r"memory budget; skipped \(parsing.memory_mb\)"):
            parse_isolated(_big_markdown(150_000), None, tight)  # ~10 MB of markdown
        doc = parse_isolated(_big_markdown(3), None, tight)  # the worker serves on
        assert [s.headings[-1] for s in doc.sections] == ["Section 0", "Section 1",
                                                          "Section 2"]
    finally:
        close_workers()


def test_a_document_over_the_time_budget_is_cut_off_and_the_worker_replaced():
    import time

    from indexer.config import ParsingSettings
    from indexer.parsing.sandbox import close_workers, parse_isolated, worker_for

    quick = ParsingSettings(memory_mb=1024, timeout_s=0.5)
    try:
        parse_isolated(_big_markdown(1), None, quick)  # warm: imports are not the budget
        first = worker_for(quick.memory_mb, quick.timeout_s)._proc
        started = time.monotonic()
        with pytest.raises(ParseError, match=r"longer than 0.5s; skipped \(parsing.timeout_s\)"):
            parse_isolated(_big_markdown(150_000), None, quick)
        assert time.monotonic() - started < 3
        assert first is not None and first.poll() is not None  # killed, not left running
        assert parse_isolated(_big_markdown(2), None, quick).title == "Big"
    finally:
        close_workers()


def test_worker_results_match_in_process_parsing():
    from indexer.config import ParsingSettings
    from indexer.parsing.sandbox import close_workers, parse_isolated

    raw = _raw((b"---\ntitle: Leave\ndate: 2024-01-02\naudience: [hr]\n---\n"
                b"# Leave\n\n## Allowance\n\n25 days.\n"), "markdown", "leave.md")
    try:
        assert parse_isolated(raw, None, ParsingSettings()) == parse_document(raw)
    finally:
        close_workers()


def test_documents_queued_behind_a_bomb_are_still_parsed():
    from indexer.config import ParsingSettings
    from indexer.parsing.sandbox import close_workers, parse_ahead

    tight = ParsingSettings(memory_mb=64, timeout_s=60)
    items = [("a", _big_markdown(2)), ("bomb", _big_markdown(150_000)),
             ("gone", None), ("b", _big_markdown(3)), ("c", _big_markdown(1))]
    try:
        out = {key: outcome for key, _, outcome in parse_ahead(items, None, tight)}
    finally:
        close_workers()
    assert sorted(out) == ["a", "b", "bomb", "c", "gone"]  # one outcome each, none lost
    assert isinstance(out["bomb"], ParseError) and "memory budget" in str(out["bomb"])
    assert out["gone"] is None
    assert [len(out[k].sections) for k in ("a", "b", "c")] == [2, 3, 1]
