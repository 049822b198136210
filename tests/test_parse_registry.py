"""The format registry decides which files are listed, what a web response is, which
parser runs and whether a document can narrow its audience: all from one table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.config import DEFAULT_INCLUDE, DirectorySourceConfig
from indexer.documents import ParsedDocument, RawDocument, Section
from indexer.errors import ParseError
from indexer.parsing import declares_audience, parse_document
from indexer.parsing.formats import (
    FORMATS,
    Format,
    default_include,
    media_type_for,
    media_type_for_content_type,
    register_format,
)
from indexer.sources.directory import DirectorySource
from tests.conftest import write


def test_an_unknown_media_type_is_a_parse_error_naming_the_supported_ones() -> None:
    raw = RawDocument("forms/leave.rtf", "1", b"{\\rtf1 Leave}", "rtf")
    with pytest.raises(ParseError, match=r"no parser for document type 'rtf'; supported "
                                         r"types: markdown, text, html, pdf, docx"):
        parse_document(raw)


def test_default_include_is_unchanged_so_indexed_rows_keep_their_shape() -> None:
    # The row shape fingerprints a source's include list: a different default would make
    # every existing install re-derive every document on upgrade.
    assert DEFAULT_INCLUDE == default_include() == [
        "**/*.md", "**/*.markdown", "**/*.txt", "**/*.html", "**/*.htm", "**/*.pdf",
        "**/*.docx"]


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=list(FORMATS))
def test_each_format_is_known_by_its_extensions_and_content_types(fmt: Format) -> None:
    for ext in (*fmt.extensions, *fmt.opt_in_extensions):
        assert media_type_for(f"policies/Leave{ext.upper()}") == fmt.name
    for ctype in fmt.content_types:
        assert media_type_for_content_type(f"{ctype}; charset=utf-8") == fmt.name


def test_only_pdf_docx_and_text_can_never_narrow_an_audience() -> None:
    assert {name for name in FORMATS if not declares_audience(name)} == {"text", "pdf", "docx"}
    assert declares_audience("a-format-nobody-registered")  # fail closed


def _parse_tsv(raw: RawDocument, cleaner: object) -> ParsedDocument:
    rows = raw.content.decode().splitlines()
    return ParsedDocument(title=rows[0], sections=[Section([rows[0]])])


@pytest.fixture
def tsv_format() -> Iterator[Format]:
    fmt = register_format(Format("tsv", (".tsv",), ("text/tab-separated-values",),
                                 declares_audience=False, parse=_parse_tsv))
    try:
        yield fmt
    finally:
        del FORMATS["tsv"]


def test_a_registered_format_is_listed_parsed_and_audience_free(tmp_path: Path,
                                                                tsv_format: Format) -> None:
    write(tmp_path, "rates/mileage.tsv", "Mileage rates\tpence\n")
    write(tmp_path, "rates/notes.rtf", "{\\rtf1 not a format}")
    source = DirectorySource(DirectorySourceConfig(name="hb", type="directory", path=tmp_path,
                                                   include=default_include()))
    refs = list(source.list())
    assert [r.path for r in refs] == ["rates/mileage.tsv"]
    raw = source.read(refs[0])
    assert raw.media_type == "tsv"
    assert parse_document(raw).title == "Mileage rates\tpence"
    assert not declares_audience("tsv")
    assert media_type_for_content_type("text/tab-separated-values") == "tsv"


def test_a_format_claiming_a_taken_extension_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\.md already belong"):
        register_format(Format("mdown", (".md",), (), declares_audience=True,
                               parse=_parse_tsv))
    assert "mdown" not in FORMATS
