"""Generate the binary documents of the sample handbook (one PDF, one DOCX).

The sample handbook in ``indexer/sample_handbook/`` describes Fernhill Analytics, a
FICTIONAL company with offices in Lisbon and Toronto. All names, addresses, phone
numbers, insurers, tools and figures are invented; every email address and URL uses
the reserved ``.example`` domain. The handbook is what ``make demo`` indexes and is
the basis of the evaluation questions, so its facts must stay consistent across
documents (for example the 30-day expense deadline appears in several places).

Most documents are hand-written Markdown, HTML and plain text. This script writes the
two that cannot be hand-written:

- ``finance/travel-insurance-summary.pdf`` (fpdf2, core Helvetica font, Latin-1 text
  only, bold larger heading lines, PDF outline entries, three pages);
- ``people/learning-and-development.docx`` (python-docx, real Heading 1/2 styles,
  bulleted and numbered lists and a table).

Output is byte-for-byte deterministic: fixed creation dates and fixed ZIP entry
timestamps, so re-running the script leaves ``git status`` clean.

Run with the project virtualenv:

    .venv/bin/python tests/make_sample_binaries.py
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.shared import Pt
from fpdf import FPDF

HANDBOOK = Path(__file__).resolve().parent.parent / "indexer" / "sample_handbook"
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)

# --------------------------------------------------------------------------- PDF

PDF_TITLE = "Corporate travel insurance - summary of cover 2026"

PDF_CONTENT: list[tuple[str, object]] = [
    ("h1", PDF_TITLE),
    (
        "p",
        "This summary explains the corporate travel insurance that protects everyone "
        "travelling on Fernhill business. It is a summary only: the full policy wording "
        "is held by the Finance team and can be requested from travel@fernhill.example. "
        "If this summary and the policy wording differ, the policy wording applies.",
    ),
    (
        "p",
        "Insurer: Northgate Assurance. Policy number: FA-TRV-2026-0417. Period of cover: "
        "1 January 2026 to 31 December 2026. Policyholders: Fernhill Analytics, Lda. and "
        "Fernhill Analytics Canada Inc.",
    ),
    ("h2", "Who and what is covered"),
    (
        "p",
        "The policy covers all employees, and contractors engaged for more than 3 months, "
        "while they are on a business trip that was approved in TripDesk, or on travel to "
        "the Company Summit booked by the Operations team. You do not need to register a "
        "trip with the insurer or buy any extra cover; approval in TripDesk is enough.",
    ),
    (
        "p",
        "Cover starts when you leave home or the office to begin the trip and ends when "
        "you get back to either, and applies worldwide. A single trip is covered for up "
        "to 90 consecutive days; longer assignments need an extension arranged by Finance "
        "before departure.",
    ),
    (
        "p",
        "Personal days added to a business trip are not covered, and neither are family "
        "members or friends travelling with you. If you extend a trip for leisure, buy "
        "your own travel insurance for the personal part. Everyday commuting and travel "
        "between your home and your usual office are not business trips.",
    ),
    ("h2", "24/7 emergency assistance"),
    (
        "p",
        "Northgate's assistance team answers around the clock, every day of the year, in "
        "English, Portuguese and French. Call them first in any medical emergency abroad, "
        "as soon as it is safe to do so: they can find a hospital, guarantee payment so "
        "you do not have to pay large bills yourself, and organise evacuation or "
        "repatriation if it is medically necessary.",
    ),
    ("bullet", "Assistance line: +44 20 7946 0312 (reverse charges accepted)"),
    ("bullet", "Email: assistance@northgate-assurance.example"),
    ("bullet", "Quote policy number FA-TRV-2026-0417 and your employer's name"),
    (
        "p",
        "In a life-threatening emergency, call the local emergency number first (112 in "
        "the EU, 911 in Canada and the US) and contact the assistance line afterwards. "
        "Also let your manager know, or post in #travel, so that Fernhill can support you.",
    ),
    ("h2", "Summary of benefits"),
    (
        "p",
        "Limits are per person per trip unless stated otherwise. Amounts in euros apply "
        "to everyone; the insurer pays claims from Canadian colleagues in Canadian dollars "
        "at the exchange rate on the date of the loss.",
    ),
    (
        "table",
        [
            ("Benefit", "Limit", "Excess"),
            ("Emergency medical expenses", "EUR 5,000,000", "None"),
            ("Emergency evacuation and repatriation", "Included in medical limit", "None"),
            ("Trip cancellation or curtailment", "EUR 7,500", "None"),
            ("Travel delay (per full 6 hours)", "EUR 50, up to EUR 400", "None"),
            ("Lost, stolen or damaged baggage", "EUR 2,500 (EUR 500 per item)", "EUR 100"),
            ("Delayed baggage (over 6 hours)", "EUR 300 for essentials", "None"),
            ("Personal money and documents", "EUR 500", "EUR 100"),
            ("Personal accident (death or disability)", "EUR 150,000", "None"),
            ("Personal liability", "EUR 2,000,000", "None"),
        ],
    ),
    (
        "p",
        "Company laptops, phones and YubiKeys are not covered by this policy; they are "
        "covered by Fernhill's own equipment insurance. If one is lost or stolen while "
        "travelling, report it to IT within 1 hour as described in the security policy, "
        "not to Northgate.",
    ),
    ("h2", "What is not covered"),
    ("p", "The main exclusions are listed below. The policy wording has the full list."),
    ("bullet", "Trips that were not approved in TripDesk, and personal extensions of trips."),
    (
        "bullet",
        "Travel to a country where the Portuguese or Canadian government advises against "
        "all or non-essential travel, unless the trip was approved by the Security and "
        "People teams and Finance informed Northgate before departure.",
    ),
    (
        "bullet",
        "Medical conditions for which you were travelling against a doctor's advice, or "
        "for which you were awaiting treatment or test results when the trip was booked.",
    ),
    (
        "bullet",
        "Hazardous activities such as mountaineering, diving below 30 metres and motor "
        "racing, even on a rest day.",
    ),
    ("bullet", "Losses caused by being under the influence of alcohol or drugs."),
    ("bullet", "Valuables or cash left unattended, including in a parked car."),
    (
        "bullet",
        "Costs you can recover elsewhere, for example from an airline or from the "
        "public health system in your country.",
    ),
    ("h2", "How to make a claim"),
    ("num", "Call the assistance line straight away for any medical emergency."),
    (
        "num",
        "Report thefts to the local police within 24 hours and keep the report. For "
        "baggage lost or delayed by an airline, get a Property Irregularity Report (PIR) "
        "at the airport before you leave.",
    ),
    ("num", "Keep all receipts, medical reports and booking confirmations."),
    (
        "num",
        "Submit the claim on Northgate's claims portal, claims.northgate-assurance.example, "
        "within 31 days of returning from the trip. Use policy number FA-TRV-2026-0417.",
    ),
    (
        "num",
        "If you paid costs yourself that the insurer will not cover (for example the excess), "
        "you cannot claim them as expenses in Ledgerly; talk to the travel desk first.",
    ),
    (
        "p",
        "Claims are paid directly to you by Northgate, usually within 15 working days of "
        "receiving all the documents. The Finance team cannot speed up or decide claims, "
        "but can help if you are stuck: email travel@fernhill.example.",
    ),
    ("h2", "Questions"),
    (
        "p",
        "For questions about this cover, certificates of insurance for visa applications, "
        "or trips longer than 90 days, contact the travel desk at travel@fernhill.example "
        "or in #travel. Travel rules, class of travel and per diems are in the Business "
        "travel policy.",
    ),
]


class _InsurancePDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110, 110, 110)
        self.cell(
            0,
            10,
            f"Fernhill Analytics - Travel insurance summary 2026 - Page {self.page_no()} of {{nb}}",
            align="C",
        )
        self.set_text_color(0, 0, 0)


def build_pdf(path: Path) -> None:
    pdf = _InsurancePDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(PDF_TITLE)
    pdf.set_author("Fernhill Analytics Finance team")
    pdf.set_subject("Summary of corporate travel insurance cover")
    pdf.set_creator("tests/make_sample_binaries.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("en")
    pdf.alias_nb_pages()
    pdf.set_margins(22, 22, 22)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()
    width = pdf.epw
    num = 0
    for kind, value in PDF_CONTENT:
        if kind == "h1":
            pdf.start_section(str(value), level=0)
            pdf.set_font("Helvetica", style="B", size=18)
            pdf.multi_cell(width, 9, str(value), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        elif kind == "h2":
            pdf.ln(3)
            pdf.start_section(str(value), level=1)
            pdf.set_font("Helvetica", style="B", size=14)
            pdf.multi_cell(width, 8, str(value), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
            num = 0
        elif kind == "p":
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(width, 6, str(value), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind in ("bullet", "num"):
            num += 1
            marker = "-" if kind == "bullet" else f"{num}."
            pdf.set_font("Helvetica", size=11)
            pdf.cell(8, 6, marker)
            pdf.multi_cell(width - 8, 6, str(value), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "table":
            rows = list(value)  # type: ignore[arg-type]
            pdf.set_font("Helvetica", size=10)
            with pdf.table(col_widths=(48, 36, 16), line_height=6) as table:
                for row in rows:
                    table.row(row)
            pdf.ln(3)
        else:  # pragma: no cover - programming error
            raise ValueError(kind)
    pdf.output(str(path))


# -------------------------------------------------------------------------- DOCX

DOCX_TITLE = "Learning and development"

DOCX_CONTENT: list[tuple[str, object]] = [
    ("h1", DOCX_TITLE),
    (
        "p",
        "Owner: People team (Learning). Last updated: 12 January 2026. Questions: "
        "#learning or learning@fernhill.example.",
    ),
    (
        "p",
        "We want everyone at Fernhill to keep learning, in their current role and "
        "towards the next one. This policy explains the personal learning budget, the "
        "learning days everyone gets, how to get a course or conference approved, and "
        "the learning we offer internally.",
    ),
    ("h2", "Your learning budget"),
    (
        "p",
        "Every employee has a personal learning budget of EUR 1,000 per calendar year, "
        "or CAD 1,500 for employees in Canada. Employees hired through our "
        "employer-of-record partner receive the euro amount. If you join during the year, "
        "the budget is pro-rated by start month; Beacon shows your remaining budget under "
        "Learning > My budget.",
    ),
    (
        "p",
        "The budget does not carry over: anything unused on 31 December is lost. It is "
        "personal, so it cannot be pooled with colleagues, but a team can agree to use "
        "part of the team budget for a group course; ask your manager.",
    ),
    ("h2", "What the budget covers"),
    (
        "p",
        "The budget can be spent on learning that is relevant to your current or future "
        "work at Fernhill, for example:",
    ),
    ("bullet", "online and in-person courses, bootcamps and workshops;"),
    ("bullet", "conference tickets, and the travel and hotel costs to attend them;"),
    ("bullet", "professional certification exams, including one retake per exam;"),
    (
        "bullet",
        "books, e-books and specialist subscriptions not available in the Learning Library;",
    ),
    ("bullet", "coaching from an accredited external coach, up to 6 sessions a year."),
    (
        "p",
        "It cannot be used for degree programmes (see Larger programmes below), general "
        "software or hardware, memberships of professional bodies that your role does not "
        "require, or anything already paid for by the company. Hobby courses are better "
        "paid from the wellbeing allowance.",
    ),
    ("h2", "Getting approval and paying"),
    (
        "num",
        "Submit a Learning request in Beacon before you book or pay anything, with the "
        "provider, dates, cost and a sentence on why it is useful.",
    ),
    (
        "num",
        "Your manager approves it. Requests above EUR 500 (CAD 750) also need your "
        "department head, in line with the expenses policy.",
    ),
    (
        "num",
        "For items up to EUR 300 (CAD 450), pay yourself and claim the cost in Ledgerly "
        "under the category Learning, within 30 days like any other expense.",
    ),
    (
        "num",
        "For items above EUR 300 (CAD 450), forward the approved request to "
        "learning@fernhill.example and the Learning team will book and pay the "
        "provider directly against an invoice.",
    ),
    (
        "p",
        "Conference travel is booked through TripDesk like any other business trip and "
        "follows the travel policy (class of travel, hotel caps and per diems); Finance "
        "charges the costs to your learning budget.",
    ),
    ("h2", "Learning days"),
    (
        "p",
        "Everyone has 5 paid learning days per calendar year, in addition to annual leave, "
        "for courses, conferences, exam preparation or self-study. Book them in Beacon "
        "under Time off > Learning day, with your manager's approval. Learning days do not "
        "carry over.",
    ),
    (
        "p",
        "In Portugal, employees are legally entitled to at least 40 hours of training per "
        "year. Learning days, internal courses and the mandatory training courses all "
        "count towards the 40 hours, and the People team tracks them in Beacon.",
    ),
    ("h2", "Larger programmes and certifications"),
    (
        "p",
        "Programmes costing more than EUR 2,000 (CAD 3,000), such as a part-time master's "
        "degree or an executive programme, are funded outside the personal budget, by your "
        "department head and the People team. They need a short business case and a "
        "learning agreement.",
    ),
    (
        "p",
        "Under the learning agreement, if you resign within 12 months of finishing the "
        "programme, you repay a share of the cost: 100% within the first 6 months, 50% "
        "between 6 and 12 months. Nothing is repaid if Fernhill ends your employment.",
    ),
    ("h2", "Internal learning"),
    (
        "bullet",
        "Learning Library: our online course and book library, open from the Okta "
        "tile of the same name. It is free and does not use your budget.",
    ),
    (
        "bullet",
        "Fernhill Academy: lunch-and-learn talks by colleagues every Thursday at "
        "13:00 Lisbon time, recorded for Toronto and remote colleagues.",
    ),
    (
        "bullet",
        "Mentoring: the Learning team matches mentors and mentees twice a year, in "
        "February and September.",
    ),
    (
        "bullet",
        "Language lessons: colleagues who relocated to Portugal for Fernhill get up "
        "to 60 hours of Portuguese lessons in their first year, outside the personal "
        "budget.",
    ),
    ("h3", "Summary"),
    (
        "table",
        [
            ("Item", "Portugal and other countries", "Canada"),
            ("Personal learning budget per year", "EUR 1,000", "CAD 1,500"),
            ("Department head approval above", "EUR 500", "CAD 750"),
            ("Booked by the Learning team above", "EUR 300", "CAD 450"),
            ("Paid learning days per year", "5", "5"),
            ("Larger programme threshold", "EUR 2,000", "CAD 3,000"),
        ],
    ),
]


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a ZIP (DOCX) with fixed entry timestamps and attributes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def build_docx(path: Path) -> None:
    doc = Document()
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    props = doc.core_properties
    props.title = DOCX_TITLE
    props.author = "Fernhill People team"
    props.last_modified_by = "Fernhill People team"
    props.subject = "Learning budget, learning days and approvals"
    props.keywords = "learning, training, budget, conferences"
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1
    for kind, value in DOCX_CONTENT:
        if kind == "h1":
            doc.add_heading(str(value), level=1)
        elif kind == "h2":
            doc.add_heading(str(value), level=2)
        elif kind == "h3":
            doc.add_heading(str(value), level=3)
        elif kind == "p":
            doc.add_paragraph(str(value))
        elif kind == "bullet":
            doc.add_paragraph(str(value), style="List Bullet")
        elif kind == "num":
            doc.add_paragraph(str(value), style="List Number")
        elif kind == "table":
            rows = list(value)  # type: ignore[arg-type]
            table = doc.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
                    if r == 0:
                        for run in table.cell(r, c).paragraphs[0].runs:
                            run.bold = True
        else:  # pragma: no cover - programming error
            raise ValueError(kind)
    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(_deterministic_zip(buf.getvalue()))


def main() -> None:
    pdf_path = HANDBOOK / "finance" / "travel-insurance-summary.pdf"
    docx_path = HANDBOOK / "people" / "learning-and-development.docx"
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    docx_path.parent.mkdir(parents=True, exist_ok=True)
    build_pdf(pdf_path)
    build_docx(docx_path)
    for p in (pdf_path, docx_path):
        print(f"wrote {p.relative_to(HANDBOOK.parent.parent)} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
