"""A slice of a real handbook (front matter, Liquid tags, tables) synced end to end."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import shared_data


def test_templated_handbook_pages_sync_cleanly(tmp_path: Path, make_index: Any) -> None:
    pages = shared_data("corpora", "18f-tts-handbook", "pages")
    templated = [f for f in sorted(pages.rglob("*.md")) if "{%" in f.read_text()][:30]
    assert len(templated) == 30
    root = tmp_path / "tts"
    for f in templated:
        target = root / f.relative_to(pages)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, target)
    index = make_index([{"name": "tts", "type": "directory", "path": str(root),
                         "url": "https://handbook.tts.gsa.gov/{path}"}],
                       index={"vector_index_min_rows": 256})  # exercise the IVF-PQ path
    report = index.sync().summary()
    # redirect-only pages (front matter with just redirect_to) are empty, not "unchanged"
    assert report["failed"] == report["unchanged"] == 0
    assert report["added"] + report["empty"] == 30
    rows = index.store.table.search().limit(None).to_list()
    for row in rows:
        assert "{%" not in row["text"] and "{{" not in row["text"], row["path"]
        assert "][" not in row["text"], row["text"]  # no reference link leaks as [x][y]
        assert row["title"] and row["section"].startswith(row["title"])
        assert row["url"].startswith(f"https://handbook.tts.gsa.gov/{row['path']}")
    assert sum("#" in r["url"] for r in rows) > len(rows) / 2  # most link to a heading
    channels = [r for r in rows if "#" in r["text"] and "slack" in r["text"].lower()]
    assert channels  # {% slack_channel "x" %} became a readable #x
    assert len(rows) >= 256
    assert "vector_idx" in {i.name for i in index.store.table.list_indices()}
    for row in rows[:20]:  # the indexed (approximate) search still finds each passage
        hit = index.retriever().search(row["section"] + " " + row["text"][:200], k=5)
        assert row["chunk_id"] in {p.chunk_id for p in hit}
