"""Links to other files of a source, and DOCX hyperlinks, reach the reader: a real sync of
a Markdown folder (real embedding model, real LanceDB) resolves ``../forms/leave.md`` and
``./travel.md#per-diem`` against the source's ``url`` template, and the Slack answer and
the CLI show them as links; a real DOCX (python-docx, ``w:hyperlink`` with ``r:id``
relationships) keeps its hyperlinks the same way."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from bot.answering import numbered
from bot.cli.render_answer import quoted
from bot.slack.blocks import answer_messages
from bot.slack.blocks_cite import quote_with_links
from bot.slack.markdown import linked
from indexer.documents import RawDocument
from indexer.parsing import docx as docx_parser
from model.answer import Answer, Citation
from model.citations import resolve
from tests.blocks_check import assert_within_limits
from tests.conftest import write

TEMPLATE = "https://git.example/hb/blob/main/{path}"
TRAVEL = """# Travel

## Booking

Book trips with the [travel desk](./booking.md) and claim costs on
[the expense form](../forms/expenses.md); see the [per diem rates](./travel.md#per-diem),
[the meals section](#per-diem) and [the HR page](https://hr.example/travel).
Never follow [a script](javascript:alert(1)), [a parent folder](../../outside.md),
[a host](//evil.example/x) or [the site root](/faq/).

## Per diem

The per diem is 40 euros a day.
"""


def _synced(tmp_path: Path, make_index: Callable[..., Any], url: str | None) -> Any:
    write(tmp_path / "hb", "policies/travel.md", TRAVEL)
    write(tmp_path / "hb", "forms/expenses.md", "# Expenses\n\nThe expense form.\n")
    source = {"name": "hb", "type": "directory", "path": str(tmp_path / "hb")}
    index = make_index([{**source, "url": url} if url else source])
    assert index.sync().ok
    return index


def test_relative_markdown_links_resolve_against_the_url_template_and_others_are_dropped(
        tmp_path: Path, make_index: Callable[..., Any]) -> None:
    index = _synced(tmp_path, make_index, TEMPLATE)
    (p,) = numbered(index.retriever().search("book trips travel desk expense form", k=1))
    assert p.path == "policies/travel.md"
    assert "Book trips with the travel desk and claim costs on the expense form" in p.text
    assert dict(p.links) == {
        "travel desk": "https://git.example/hb/blob/main/policies/booking.md",
        "the expense form": "https://git.example/hb/blob/main/forms/expenses.md",
        "per diem rates": "https://git.example/hb/blob/main/policies/travel.md#per-diem",
        "the meals section": "https://git.example/hb/blob/main/policies/travel.md#per-diem",
        "the HR page": "https://hr.example/travel"}


def test_relative_links_of_a_folder_without_a_url_are_dropped_not_shown_as_paths(
        tmp_path: Path, make_index: Callable[..., Any]) -> None:
    index = _synced(tmp_path, make_index, None)
    (p,) = numbered(index.retriever().search("book trips travel desk expense form", k=1))
    assert dict(p.links) == {"the HR page": "https://hr.example/travel"}


def test_a_synced_link_is_a_link_in_the_slack_answer_and_the_cli(
        tmp_path: Path, make_index: Callable[..., Any]) -> None:
    index = _synced(tmp_path, make_index, TEMPLATE)
    (p,) = numbered(index.retriever().search("book trips travel desk expense form", k=1))
    r = resolve("Book trips with the travel desk and claim costs on the expense form [1].",
                [p])
    answer = Answer(question="How do I book trips?", text=r.text, citations=r.citations,
                    sentences=r.sentences, grounded=True, generator="extractive")
    (c,) = answer.citations
    form = "https://git.example/hb/blob/main/forms/expenses.md"
    (message,) = answer_messages(answer, answer_id="a1")
    assert_within_limits(message["blocks"])
    text = message["blocks"][0]["text"]  # the markdown block
    assert message["blocks"][0]["type"] == "markdown"
    assert f"[the expense form]({form})" in text
    assert "[travel desk](https://git.example/hb/blob/main/policies/booking.md)" in text
    assert f"<{form}|the expense form>" in quote_with_links(c.quote, c.links)  # mrkdwn
    assert f"the expense form <{form}>" in quoted(c)  # the terminal


def test_passage_links_in_markdown_blocks_cannot_break_out_and_only_web_or_mail_link():
    c = Citation(1, "Security", "https://it.example/security", "hb", "security.md",
                 "Security", "Use the [form] or *ask* us, or run the reset.",
                 links=[("the [form]", "https://it.example/a b)(c[d]"),
                        ("*ask* us", "mailto:help@it.example"),
                        ("the reset", "javascript:alert(1)")])
    text = linked("Use the [form] or *ask* us, or run the reset [1].", [c])
    assert "[the \\[form\\]](https://it.example/a%20b%29%28c%5Bd%5D)" in text
    assert "[\\*ask\\* us](mailto:help@it.example)" in text
    assert "javascript" not in text and "run the reset" in text
    assert "[\\[1\\]](https://it.example/security)" in text
    # a link only where the line cites the passage that holds it
    assert "](mailto:" not in linked("Use the *ask* us form.", [c])


def _hyperlink(paragraph: Any, text: str, target: str, external: bool = True) -> None:
    """A ``w:hyperlink`` as Word writes it: an r:id naming a relationship to the target
    (or only a ``w:anchor`` for a jump inside the file)."""
    link = OxmlElement("w:hyperlink")
    if external:
        link.set(qn("r:id"), paragraph.part.relate_to(target, RT.HYPERLINK, is_external=True))
    else:
        link.set(qn("w:anchor"), target)
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def _docx_with_links() -> bytes:
    document = docx.Document()
    document.add_heading("Travel", level=1)
    p = document.add_paragraph("Claim costs on ")
    _hyperlink(p, "the expense form", "https://forms.example/expenses?x=1&y=2")
    p.add_run(", see ")
    _hyperlink(p, "the contents", "_Toc123", external=False)
    p.add_run(", ")
    _hyperlink(p, "the rates", "rates.docx")
    p.add_run(" or ")
    _hyperlink(p, "run this", "javascript:alert(1)")
    p.add_run(".")
    table = document.add_table(rows=2, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Item", "Where"
    table.rows[1].cells[0].text = "Taxi"
    _hyperlink(table.rows[1].cells[1].paragraphs[0], "the taxi app", "https://taxi.example/")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_hyperlinks_are_kept_with_the_text_that_carries_them() -> None:
    doc = docx_parser.parse(RawDocument("policies/travel.docx", "1", _docx_with_links(),
                                        "docx"))
    blocks = [b for s in doc.sections for b in s.blocks]
    claim = next(b for b in blocks if b.text.startswith("Claim costs"))
    assert claim.text == ("Claim costs on the expense form, see the contents, the rates or "
                          "run this.")
    assert claim.links == [("the expense form", "https://forms.example/expenses?x=1&y=2"),
                           ("the rates", "rates.docx")]  # resolved by the sync
    taxi = next(b for b in blocks if "Taxi" in b.text)
    assert taxi.links == [("the taxi app", "https://taxi.example/")]


def test_a_synced_docx_links_its_hyperlinks_and_its_relative_ones_through_the_url(
        tmp_path: Path, make_index: Callable[..., Any]) -> None:
    (tmp_path / "hb" / "policies").mkdir(parents=True)
    (tmp_path / "hb" / "policies" / "travel.docx").write_bytes(_docx_with_links())
    index = make_index([{"name": "hb", "type": "directory", "path": str(tmp_path / "hb"),
                         "url": TEMPLATE}])
    assert index.sync().ok
    (p,) = numbered(index.retriever().search("claim costs expense form", k=1))
    links = dict(p.links)
    assert links["the expense form"] == "https://forms.example/expenses?x=1&y=2"
    assert links["the rates"] == "https://git.example/hb/blob/main/policies/rates.docx"
    assert "run this" not in links and "the contents" not in links
    (c,) = resolve("Claim costs on the expense form [1].", [p]).citations
    assert "<https://forms.example/expenses?x=1&amp;y=2|the expense form>" in \
        quote_with_links(c.quote, c.links)


def test_a_relative_link_in_an_html_file_of_a_folder_resolves_through_the_url_too(
        tmp_path: Path, make_index: Callable[..., Any]) -> None:
    write(tmp_path / "hb", "policies/desk.html",
          "<h1>Desks</h1><p>Book a desk with <a href='../forms/desk.md'>the desk form</a>, "
          "not <a href='javascript:x()'>a script</a>.</p>")
    index = make_index([{"name": "hb", "type": "directory", "path": str(tmp_path / "hb"),
                         "url": TEMPLATE}])
    assert index.sync().ok
    (p,) = numbered(index.retriever().search("book a desk", k=1))
    assert p.links == (("the desk form", "https://git.example/hb/blob/main/forms/desk.md"),)
