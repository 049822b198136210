"""Links in quoted policy text survive: inline and reference-style Markdown links keep
their text in the passage (what is embedded, searched and quoted, verbatim) and their URL
beside it; Slack shows them as safe ``<url|text>`` links (http(s)/mailto only), the CLI
as "text <url>"; an unresolved reference no longer leaks as ``[x][x]``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.answering import numbered
from bot.cli.render_answer import quoted
from bot.slack.blocks_cite import cite_blocks, quote_with_links
from indexer.parsing.util import safe_link
from model.answer import Answer, Citation
from model.citations import resolve
from tests.blocks_check import assert_within_limits
from tests.conftest import write
from tests.test_source_web import Page, site  # noqa: F401

SECURITY = """# Security

To reset your password, follow [these instructions](https://it.example/reset?a=1&b=2)
or read [the Q&A guide][guide] and ask [the help desk](mailto:help@it.example).
Phishing goes to [the form][phish-form], never to [a script](javascript:alert(1)).

[guide]: https://it.example/guide
"""


def _passages(tmp_path: Path, make_index: Callable[..., Any], query: str) -> list[Any]:
    write(tmp_path / "docs", "security.md", SECURITY)
    index = make_index([{"name": "hb", "type": "directory", "path": str(tmp_path / "docs")}])
    assert index.sync().ok
    return numbered(index.retriever().search(query, k=1))


def test_links_are_kept_beside_plain_passage_text_and_cited_with_the_quote(
        tmp_path: Path, make_index: Callable[..., Any]):
    (p,) = _passages(tmp_path, make_index, "reset password")
    assert "follow these instructions or read the Q&A guide" in p.text
    assert "Phishing goes to the form, never to" in p.text  # no "[the form][phish-form]"
    assert "](" not in p.text and "][" not in p.text
    assert dict(p.links) == {"these instructions": "https://it.example/reset?a=1&b=2",
                             "the Q&A guide": "https://it.example/guide",
                             "the help desk": "mailto:help@it.example"}

    answer = resolve("To reset your password, follow these instructions [1].", [p])
    (c,) = answer.citations
    assert c.quote in p.window  # the quote is still a verbatim span of its source
    assert c.quote.startswith("To reset your password, follow these instructions")
    assert ("these instructions", "https://it.example/reset?a=1&b=2") in c.links
    assert {"text": "the help desk", "url": "mailto:help@it.example"} in \
        c.public_dict()["links"]


def test_slack_and_cli_render_the_links_inside_quotes_safely():
    c = Citation(1, "Security", "https://it.example/security", "hb", "security.md",
                 "Security", "Follow these instructions, read the Q&A <guide> or ask us.",
                 links=[("these instructions", "https://it.example/reset?a=1&b=2"),
                        ("the Q&A <guide>", "https://it.example/g|x"),
                        ("ask us", "mailto:help@it.example"),
                        ("Follow", "javascript:alert(1)")])
    text = quote_with_links(c.quote, c.links)
    assert "<https://it.example/reset?a=1&amp;b=2|these instructions>" in text
    assert "<https://it.example/g%7Cx|the Q&amp;A &lt;guide&gt;>" in text
    assert "<mailto:help@it.example|ask us>" in text
    assert "javascript" not in text and text.startswith("> Follow ")
    blocks = cite_blocks(Answer(question="q", text="x [1].", citations=[c], grounded=True))
    assert_within_limits(blocks)
    assert "<mailto:help@it.example|ask us>" in str(blocks)
    assert quoted(c) == ("“Follow these instructions <https://it.example/reset?a=1&b=2>, read "
                         "the Q&A <guide> <https://it.example/g|x> or ask us "
                         "<mailto:help@it.example>.”")


def test_only_absolute_web_and_mail_links_are_kept():
    assert safe_link("https://x.example/a") == "https://x.example/a"
    assert safe_link("mailto:a@x.example") == "mailto:a@x.example"
    for bad in ("javascript:alert(1)", "data:text/html,x", "../leave.md", "", "http://",
                "https://x.example/a b", "mailto:nobody", "vbscript:x"):
        assert safe_link(bad) is None, bad


def test_html_page_links_resolve_against_the_page_and_follow_the_quote(
        site, make_index: Callable[..., Any]):  # noqa: F811
    site.pages["/policies/expenses.html"] = Page(
        b"<h1>Expenses</h1><p>Claim travel costs through <a href='/forms/claim.html'>the "
        b"claim form</a>, never <a href='javascript:steal()'>by script</a>, within "
        b"<a href='#deadline'>thirty days</a>.</p>")
    index = make_index([{"name": "intranet", "type": "web", "allow_private_network": True,
                         "urls": [f"{site.base}/policies/expenses.html"]}])
    assert index.sync().ok
    (p,) = numbered(index.retriever().search("claim travel costs", k=1))
    assert "Claim travel costs through the claim form, never by script" in p.text
    assert p.links == (("the claim form", f"{site.base}/forms/claim.html"),)
    (c,) = resolve("Claim travel costs through the claim form [1].", [p]).citations
    assert f"<{site.base}/forms/claim.html|the claim form>" in quote_with_links(c.quote,
                                                                                 c.links)


def test_an_unresolved_reference_wrapped_over_two_lines_reads_as_its_text_and_code_is_kept():
    from indexer.documents import RawDocument
    from indexer.parsing.markdown import parse

    md = (b"# T\n\nFor supervisors, [professional liability\ninsurance][pli]. Index "
          b"`a[i][j]` as written.\n\n[pli]: {% page \"/faq/\" %}\n")
    from indexer.parsing.cleaning import TemplateCleaner

    doc = parse(RawDocument("t.md", "1", md, "markdown"), TemplateCleaner())
    (block,) = doc.sections[0].blocks
    assert block.text == ("For supervisors, professional liability insurance. Index a[i][j] "
                          "as written.")


def test_links_never_push_a_quote_past_its_room_in_the_section():
    long_url = "https://it.example/" + "a" * 900
    words = [f"word{i}" for i in range(5)]
    text = " ".join(words) + " " + "filler " * 150
    body = quote_with_links(text, [(w, long_url) for w in words])
    assert len(body) <= 2400 + 10
    assert body.count(long_url) == 1  # the first fits; the rest would overflow
