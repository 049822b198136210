"""Parsers for plain text, HTML, PDF and DOCX, tested on real files built in the test.

What matters to a user: the right heading path and deep link for each passage, no site
chrome in answers, tables kept, and a clear ParseError (never a library traceback) for
files that cannot be read.
"""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from indexer.documents import ParsedDocument, RawDocument
from indexer.errors import ParseError
from indexer.parsing import docx as docx_parser
from indexer.parsing import html as html_parser
from indexer.parsing import pdf as pdf_parser
from indexer.parsing import text as text_parser

LOREM = ("Employees accrue annual leave at two days per month of service and may take it "
         "in blocks agreed with their manager. ")


def raw(path: str, content: bytes, media_type: str) -> RawDocument:
    return RawDocument(path=path, version="v1", content=content, media_type=media_type)


def all_blocks(doc: ParsedDocument) -> list[str]:
    return [b.text for s in doc.sections for b in s.blocks]


def section(doc: ParsedDocument, last_heading: str):
    return next(s for s in doc.sections if s.headings[-1] == last_heading)


def assert_lines_sane(doc: ParsedDocument, line_count: int) -> None:
    starts = [b.start_line for s in doc.sections for b in s.blocks]
    assert starts == sorted(starts)
    for s in doc.sections:
        for b in s.blocks:
            assert 1 <= b.start_line <= b.end_line <= line_count


def assert_headings_start_with_title(doc: ParsedDocument) -> None:
    for s in doc.sections:
        assert s.headings and s.headings[0] == doc.title
        assert s.headings.count(doc.title) == 1


# --- plain text -------------------------------------------------------------------------

def test_text_paragraphs_keep_their_line_ranges():
    content = b"Leave Policy\n\nYou get 25 days\nof annual leave.\n\n\nAsk your manager.\r\n"
    doc = text_parser.parse(raw("policies/leave.txt", content, "text"))
    assert doc.title == "Leave Policy"
    assert doc.line_anchors is True
    [only] = doc.sections
    assert only.headings == ["Leave Policy"] and only.anchor is None
    assert [(b.text, b.start_line, b.end_line) for b in only.blocks] == [
        ("You get 25 days\nof annual leave.", 3, 4), ("Ask your manager.", 7, 7)]


def test_text_long_first_line_falls_back_to_file_name():
    content = ("word " * 40 + "\n\nSecond paragraph.\n").encode()
    doc = text_parser.parse(raw("policies/code-of-conduct.txt", content, "text"))
    assert doc.title == "Code of conduct"
    assert_lines_sane(doc, 3)


@pytest.mark.parametrize("content", [b"\x00\x01\x02\xff\xfe binary \x00" * 50, b"", b" \n\n "])
def test_text_binary_or_empty_is_a_parse_error(content):
    with pytest.raises(ParseError):
        text_parser.parse(raw("junk.txt", content, "text"))


LATIN1 = ("Congés payés\n\nChaque employé a droit à 25 jours de congés payés par an. "
          "Le café et le thé sont offerts au bureau de Lisbonne.\n")


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_a_legacy_encoded_text_file_is_read_in_its_encoding_not_as_mojibake(encoding):
    doc = text_parser.parse(raw("policies/conges.txt", LATIN1.encode(encoding), "text"))
    text = "\n".join(all_blocks(doc))
    assert "\ufffd" not in text and "\ufffd" not in doc.title
    assert "Chaque employé a droit à 25 jours de congés payés" in text
    assert "café" in text


def test_a_utf8_file_with_a_pasted_latin1_word_keeps_both_halves_readable():
    content = "Le café est offert — “toujours”. ".encode() * 20 + "Congés".encode("latin-1")
    doc = text_parser.parse(raw("policies/mixed.txt", content, "text"))
    text = "\n".join(all_blocks(doc))
    assert "Le café est offert — “toujours”." in text and text.endswith("Congés")
    assert "\ufffd" not in text and "Ã" not in text


def test_markdown_in_a_legacy_encoding_is_read_too():
    from indexer.parsing import markdown as markdown_parser

    content = ("# Congés\n\n" + LATIN1).encode("latin-1")
    doc = markdown_parser.parse(raw("conges.md", content, "markdown"))
    assert "congés payés par an" in "\n".join(all_blocks(doc))


def test_text_whose_encoding_cannot_be_told_is_refused_with_the_reason():
    noise = bytes(range(128, 256)) * 40  # no encoding makes sense of this
    with pytest.raises(ParseError, match="save the file as UTF-8"):
        text_parser.parse(raw("noise.txt", noise, "text"))


# --- HTML -------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>Leave | Acme Intranet</title>
<meta name="audience" content="managers, hr">
<meta name="description" content="How leave works at Acme">
<script>var tracking = "SCRIPT-TEXT";</script></head>
<body>
<header class="site-header"><a href="/">HEADER-TEXT</a></header>
<nav><ul><li>NAV-TEXT Home</li><li>Policies</li></ul></nav>
<div class="breadcrumbs">BREADCRUMB-TEXT</div>
<main>
  <h1>Leave Policy</h1>
  <p>This policy applies
     to all staff.</p>
  <h2 id="annual">Annual leave</h2>
  <p>You get <b>25</b> days a year.</p>
  <ul><li>Book via the HR portal</li><li>Tell your team</li></ul>
  <h3>Carry over</h3>
  <table><tr><th>Type</th><th>Days</th></tr><tr><td>Annual</td><td>25</td></tr></table>
  <h2>Sick leave</h2>
  <p>Call in before 10am.</p>
</main>
<aside>ASIDE-TEXT</aside>
<div id="cookie-banner" class="cookie-banner">COOKIE-TEXT We use cookies</div>
<footer>FOOTER-TEXT Acme Ltd</footer>
</body></html>
"""


def test_html_keeps_main_content_with_heading_paths_and_anchors():
    doc = html_parser.parse(raw("wiki/leave.html", PAGE.encode(), "html"))
    assert doc.title == "Leave Policy"
    assert doc.audience == ["managers", "hr"]
    assert doc.metadata["description"] == "How leave works at Acme"
    paths = [(s.headings, s.anchor, s.level) for s in doc.sections]
    assert paths == [
        (["Leave Policy"], "leave-policy", 1),
        (["Leave Policy", "Annual leave"], "annual", 2),
        (["Leave Policy", "Annual leave", "Carry over"], "carry-over", 3),
        (["Leave Policy", "Sick leave"], "sick-leave", 2),
    ]
    blocks = all_blocks(doc)
    assert "This policy applies to all staff." in blocks
    assert "- Book via the HR portal" in blocks
    # table rows are keyed by the header row, so each row reads on its own
    assert section(doc, "Carry over").blocks[0].text == "Type: Annual; Days: 25"
    for chrome in ("SCRIPT", "HEADER", "NAV", "BREADCRUMB", "ASIDE", "COOKIE", "FOOTER"):
        assert not any(chrome + "-TEXT" in b for b in blocks), chrome
    assert_lines_sane(doc, PAGE.count("\n") + 1)
    intro = section(doc, "Leave Policy").blocks[0]
    assert (intro.start_line, intro.end_line) == (12, 13)


def test_html_without_h1_uses_title_tag_and_keeps_text_before_first_heading():
    page = b"""<html><head><title>Expenses</title></head><body>
    <div class="navbar">Menu</div>
    <article><header><p>Intro before any heading.</p></header>
    <h2>Claims</h2><p>Submit receipts within 30 days.</p><h2>Claims</h2><p>Again.</p>
    </article></body></html>"""
    doc = html_parser.parse(raw("wiki/expenses.html", page, "html"))
    assert doc.title == "Expenses"
    first = doc.sections[0]
    assert (first.headings, first.anchor, first.level) == (["Expenses"], None, 0)
    assert [b.text for b in first.blocks] == ["Intro before any heading."]
    assert [s.anchor for s in doc.sections[1:]] == ["claims", "claims-1"]
    assert "Menu" not in all_blocks(doc)
    assert doc.audience is None


@pytest.mark.parametrize("page", [
    b"<html><head><title>Empty</title></head><body></body></html>",
    b"<html><body><nav>Only navigation</nav><footer>and a footer</footer></body></html>",
    b"",
])
def test_html_without_content_is_a_parse_error(page):
    with pytest.raises(ParseError):
        html_parser.parse(raw("empty.html", page, "html"))


# --- PDF --------------------------------------------------------------------------------

def _handbook_pdf(title_metadata: bool = True) -> bytes:
    pdf = FPDF()
    if title_metadata:
        pdf.set_title("Employee Handbook")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, "Employee Handbook", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, "1. Leave", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, LOREM * 3, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.multi_cell(0, 6, "Unused leave carries over, up to ten days, into the next year.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 10, "Sick Leave", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, "Sick leave is paid from the first day.", new_x="LMARGIN",
                   new_y="NEXT")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, "2. Expense Claims", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, "Submit receipts within thirty days through the finance portal.\n"
                   "- Taxis need a receipt\n- Meals are capped at 40 euros",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _line_count(content: bytes) -> int:
    reader = PdfReader(io.BytesIO(content))
    return sum(len(page.extract_text().split("\n")) for page in reader.pages)


def test_pdf_headings_from_font_sizes_with_page_anchors():
    content = _handbook_pdf()
    doc = pdf_parser.parse(raw("handbook.pdf", content, "pdf"))
    assert doc.title == "Employee Handbook"
    paths = [(s.headings, s.anchor) for s in doc.sections]
    assert paths == [
        (["Employee Handbook", "1. Leave"], "page=1"),
        (["Employee Handbook", "1. Leave", "Sick Leave"], "page=1"),
        (["Employee Handbook", "2. Expense Claims"], "page=2"),
    ]
    leave = section(doc, "1. Leave").blocks
    assert len(leave) == 2  # the larger gap between paragraphs splits them
    assert leave[0].text.startswith("Employees accrue") and leave[0].end_line > leave[0].start_line
    assert "\n" not in leave[0].text and "  " not in leave[0].text
    assert [b.text for b in section(doc, "2. Expense Claims").blocks] == [
        "Submit receipts within thirty days through the finance portal.",
        "- Taxis need a receipt", "- Meals are capped at 40 euros"]
    assert_lines_sane(doc, _line_count(content))
    assert_headings_start_with_title(doc)


def test_pdf_title_from_first_line_without_metadata():
    doc = pdf_parser.parse(raw("hb.pdf", _handbook_pdf(title_metadata=False), "pdf"))
    assert doc.title == "Employee Handbook"
    assert "Employee Handbook" not in all_blocks(doc)


class _FooterPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 11)
        self.cell(0, 10, f"Page {self.page_no()}", align="C")


def test_pdf_single_font_falls_back_to_text_heuristics_and_drops_page_numbers():
    pdf = _FooterPDF()
    pdf.set_font("Helvetica", "", 11)
    pdf.add_page()
    pdf.multi_cell(0, 6, f"ACME STAFF POLICIES\n{LOREM}", new_x="LMARGIN", new_y="NEXT")
    for number, name in enumerate(["Annual Leave", "Expense Claims", "Remote Work"], start=1):
        if number > 1:
            pdf.add_page()
        pdf.multi_cell(0, 6, f"{number}. {name}\n{LOREM}\nMore about {name.lower()}.",
                       new_x="LMARGIN", new_y="NEXT")
    content = bytes(pdf.output())
    doc = pdf_parser.parse(raw("policies/single-font.pdf", content, "pdf"))
    assert doc.title == "ACME STAFF POLICIES"
    assert [(s.headings, s.anchor) for s in doc.sections] == [
        (["ACME STAFF POLICIES"], "page=1"),
        (["ACME STAFF POLICIES", "1. Annual Leave"], "page=1"),
        (["ACME STAFF POLICIES", "2. Expense Claims"], "page=2"),
        (["ACME STAFF POLICIES", "3. Remote Work"], "page=3")]
    assert not any(b.startswith("Page ") for b in all_blocks(doc))
    assert_lines_sane(doc, _line_count(content))


def test_pdf_with_owner_password_only_still_opens():
    writer = PdfWriter(clone_from=io.BytesIO(_handbook_pdf()))
    writer.encrypt(user_password="", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    doc = pdf_parser.parse(raw("hb.pdf", out.getvalue(), "pdf"))
    assert section(doc, "2. Expense Claims").anchor == "page=2"


def _encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(_handbook_pdf()))
    writer.encrypt(user_password="secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _scanned_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 100, style="F")
    return bytes(pdf.output())


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: b"%PDF-1.7\nthis is not really a pdf\x00\xff", "not a valid PDF"),
    (lambda: b"", "not a valid PDF"),
    (lambda: _handbook_pdf()[:300], None),
    (_encrypted_pdf, "encrypted PDF"),
    (_scanned_pdf, "no extractable text"),
])
def test_pdf_unreadable_is_a_parse_error(make, reason):
    with pytest.raises(ParseError, match=reason):
        pdf_parser.parse(raw("bad.pdf", make(), "pdf"))


# --- DOCX -------------------------------------------------------------------------------

def _handbook_docx(core_title: str = "") -> bytes:
    document = docx.Document()
    document.core_properties.title = core_title
    document.add_heading("Employee Handbook", level=0)
    document.add_paragraph("Welcome to Acme.")
    document.add_heading("Leave", level=1)
    document.add_paragraph("You get 25 days of annual leave.")
    document.add_paragraph("Book it in the HR portal", style="List Bullet")
    document.add_heading("Sick leave", level=2)
    table = document.add_table(rows=2, cols=2)
    for cells, values in zip(table.rows, [("Type", "Days"), ("Sick", "10")], strict=True):
        for cell, value in zip(cells.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("Call in before 10am.")
    document.add_heading("Expenses", level=1)
    document.add_paragraph("Submit receipts within 30 days.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_heading_styles_lists_and_tables_in_order():
    doc = docx_parser.parse(raw("handbook.docx", _handbook_docx(), "docx"))
    assert doc.title == "Employee Handbook"
    assert [(s.headings, s.anchor) for s in doc.sections] == [
        (["Employee Handbook"], None),
        (["Employee Handbook", "Leave"], None),
        (["Employee Handbook", "Leave", "Sick leave"], None),
        (["Employee Handbook", "Expenses"], None),
    ]
    assert [b.text for b in section(doc, "Leave").blocks] == [
        "You get 25 days of annual leave.", "- Book it in the HR portal"]
    assert [b.text for b in section(doc, "Sick leave").blocks] == [
        "Type: Sick; Days: 10", "Call in before 10am."]
    assert_lines_sane(doc, 20)
    numbers = [b.start_line for s in doc.sections for b in s.blocks]
    assert len(set(numbers)) == len(numbers)


def test_docx_core_title_wins():
    doc = docx_parser.parse(raw("hb.docx", _handbook_docx("Acme Handbook 2025"), "docx"))
    assert doc.title == "Acme Handbook 2025"
    assert_headings_start_with_title(doc)
    assert section(doc, "Leave").headings == ["Acme Handbook 2025", "Leave"]


def test_docx_falls_back_to_file_name(tmp_path: Path):
    document = docx.Document()
    document.add_paragraph("Just a note.")
    path = tmp_path / "travel-policy.docx"
    document.save(str(path))
    doc = docx_parser.parse(raw("policies/travel-policy.docx", path.read_bytes(), "docx"))
    assert doc.title == "Travel policy"
    assert all_blocks(doc) == ["Just a note."]


def _zip_without_word() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    return out.getvalue()


@pytest.mark.parametrize("make", [
    lambda: b"PK\x03\x04 definitely not a docx",
    lambda: b"",
    lambda: _handbook_docx()[:500],
    _zip_without_word,
])
def test_docx_corrupt_is_a_parse_error(make):
    with pytest.raises(ParseError):
        docx_parser.parse(raw("bad.docx", make(), "docx"))
