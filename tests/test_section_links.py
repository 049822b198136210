"""A chunk that merged small sections links each quote to the section that holds it:
"Lost or stolen equipment" text is cited as that section, with its anchor, not the first
section's ("#repairs"). Real chunker, real LanceDB, real retrieval."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.answering import numbered
from model.citations import resolve
from tests.conftest import write

EQUIPMENT = """# Equipment

## Repairs

Broken laptops go to the IT desk on the second floor.

## Lost or stolen equipment

Report a lost or stolen laptop to security within 24 hours.

## Returns

Return every device on your last working day.
"""
URL = "https://wiki.example/{path}"


def _index(tmp_path: Path, make_index: Callable[..., Any]) -> Any:
    write(tmp_path / "docs", "equipment.md", EQUIPMENT)
    index = make_index([{"name": "hb", "type": "directory", "path": str(tmp_path / "docs"),
                         "url": URL}])
    assert index.sync().ok
    return index


def test_quote_from_a_merged_section_links_to_that_sections_anchor(
        tmp_path: Path, make_index: Callable[..., Any]):
    index = _index(tmp_path, make_index)
    rows = index.store.table.search().limit(None).to_list()
    assert len(rows) == 1  # the three small sections were merged into one chunk
    assert rows[0]["url"] == "https://wiki.example/equipment.md#repairs"

    passages = numbered(index.retriever().search("lost laptop", k=1))
    lost = resolve("Report a lost or stolen laptop to security within 24 hours [1].", passages)
    (c,) = lost.citations
    assert c.quote == "Report a lost or stolen laptop to security within 24 hours."
    assert c.url == "https://wiki.example/equipment.md#lost-or-stolen-equipment"
    assert c.section == "Equipment › Lost or stolen equipment"

    repairs = resolve("Broken laptops go to the IT desk on the second floor [1].", passages)
    assert repairs.citations[0].url == "https://wiki.example/equipment.md#repairs"
    returns = resolve("Return every device on your last working day [1].", passages)
    assert returns.citations[0].url == "https://wiki.example/equipment.md#returns"


def test_merged_chunk_records_where_each_section_starts(tmp_path: Path,
                                                        make_index: Callable[..., Any]):
    index = _index(tmp_path, make_index)
    (p,) = index.retriever().search("lost laptop", k=1)
    anchors = [link.rsplit("#", 1)[1] for _, link, _ in p.spans]
    assert anchors == ["repairs", "lost-or-stolen-equipment", "returns"]
    for offset, _, section in p.spans:  # each offset is where that section's text starts
        heading = section.rsplit(" › ", 1)[1]
        assert p.text[offset:].startswith(heading) or offset == 0
