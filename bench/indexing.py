"""Indexing throughput: full sync vs raw model encoding, re-sync and incremental edits.

Why these numbers: on a CPU box the embedding model should dominate a full sync, so the
honest yardstick is ``SentenceTransformer.encode`` on exactly the texts the sync embedded;
whatever the sync costs beyond that (parsing, chunking, hashing, LanceDB writes, the FTS
index) is overhead we control. A re-sync of unchanged sources runs on every schedule tick,
so it must cost a small fraction of a full sync. Goals: overhead < 10 %, re-sync < 5 %.

Run: ``.venv/bin/python bench/indexing.py`` (about 10 minutes on 2 CPU cores).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    CORPORA,
    corpus_sources,
    load_now,
    make_index,
    median,
    require_data,
    setup_logging,
    table,
    timer,
    write_results,
)

FULL_RUNS, ENCODE_RUNS, RESYNC_RUNS, EDIT_RUNS = 2, 2, 5, 3


def timed_sync(index: Any) -> dict[str, Any]:
    """One ``index.sync()`` with its summary, the time spent in ``store.maintain`` and load."""
    store = index.store
    original = store.maintain
    spent: list[float] = []

    def maintain(rows: int) -> None:  # wraps the instance's method only, for this call
        start = time.perf_counter()
        original(rows)
        spent.append(time.perf_counter() - start)

    store.maintain = maintain
    load = load_now()
    try:
        with timer() as t:
            summary = index.sync().summary()
    finally:
        del store.maintain
    return {**summary, "wall_s": t[0], "maintain_s": sum(spent), "load1": load}


def embedded_texts(index: Any) -> list[str]:
    """The distinct ``search_text`` values: what the sync embedded (one vector per hash)."""
    column = index.store.table.to_arrow().column("search_text").to_pylist()
    return list(dict.fromkeys(column))


def encode_once(index: Any, texts: list[str]) -> dict[str, Any]:
    """Raw model throughput on the same texts, batch size and normalisation as the sync."""
    model, batch = index.embedder.model, index.settings.embedding.batch_size
    load = load_now()
    with timer() as t:
        model.encode(texts, batch_size=batch, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
    return {"wall_s": t[0], "texts": len(texts), "load1": load}


def pick_documents(root: Path, n: int) -> list[Path]:
    """``n`` mid-sized Markdown files, deterministically: typical edits, not outliers."""
    files = sorted(root.rglob("*.md"), key=lambda p: (p.stat().st_size, str(p)))
    mid = len(files) // 2
    return files[mid:mid + n]


def edit(path: Path) -> None:
    """Change one sentence in the middle of the body, as a typo fix or a policy tweak would."""
    lines = path.read_text(encoding="utf-8").split("\n")
    body = [i for i, line in enumerate(lines)
            if len(line) > 40 and not line.lstrip().startswith(("#", "|", "-", "<", "{"))]
    i = body[len(body) // 2]
    lines[i] = lines[i].rstrip() + " This sentence was added by the indexing benchmark."
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    data = require_data("corpora")
    setup_logging()
    with tempfile.TemporaryDirectory(prefix="policybot-bench-idx-") as tmp_dir:
        tmp = Path(tmp_dir)
        for name, rel in CORPORA.items():  # a private copy, so (d) can edit documents
            shutil.copytree(data / "corpora" / rel, tmp / "corpora" / name)
        sources = corpus_sources(tmp / "corpora")
        sources = [{**s, "path": str(tmp / "corpora" / s["name"])} for s in sources]

        embedder, full = None, []
        for i in range(FULL_RUNS):  # fresh home each time: a real first sync
            index = make_index(tmp / f"home{i}", sources, embedder)
            embedder = index.embedder
            full.append(timed_sync(index))
            print(f"full sync {i + 1}: {full[-1]}", flush=True)
        texts = embedded_texts(index)
        encode = [encode_once(index, texts) for _ in range(ENCODE_RUNS)]
        print(f"encode: {encode}", flush=True)
        resync = [timed_sync(index) for _ in range(RESYNC_RUNS)]
        print(f"re-sync: {[round(r['wall_s'], 3) for r in resync]}", flush=True)

        touched, edited = [], []
        for doc in pick_documents(tmp / "corpora" / "tts-handbook", EDIT_RUNS):
            os.utime(doc)  # new mtime, same bytes: re-read and re-parsed, nothing embedded
            touched.append({**timed_sync(index), "doc": doc.name})
            edit(doc)
            edited.append({**timed_sync(index), "doc": doc.name})
        rows = index.store.table.count_rows()

    chunks = full[0]["chunks_embedded"]
    sync_s = median([r["wall_s"] for r in full])
    encode_s = median([r["wall_s"] for r in encode])
    resync_s = median([r["wall_s"] for r in resync])
    result = {
        "documents": full[0]["added"], "table_rows": rows, "chunks_embedded": chunks,
        "distinct_texts": len(texts), "full_sync": full, "encode": encode, "resync": resync,
        "touch_resync": touched, "edit_resync": edited,
        "summary": {
            "full_sync_s": sync_s, "full_sync_chunks_per_s": chunks / sync_s,
            "maintain_s": median([r["maintain_s"] for r in full]),
            "encode_s": encode_s, "encode_chunks_per_s": len(texts) / encode_s,
            "pipeline_overhead_pct": 100 * (sync_s - encode_s) / encode_s,
            "resync_s": resync_s, "resync_pct_of_full": 100 * resync_s / sync_s,
            "touch_resync_s": median([r["wall_s"] for r in touched]),
            "edit_resync_s": median([r["wall_s"] for r in edited]),
            "edit_chunks_embedded": [r["chunks_embedded"] for r in edited],
        },
    }
    path = write_results("indexing", result)
    s = result["summary"]
    print(f"\n{result['documents']} documents, {chunks} chunks embedded "
          f"({len(texts)} distinct texts in the table, {rows} rows)\n")
    print(table(["measure", "median", "runs", "goal"], [
        ["full sync, s", s["full_sync_s"], FULL_RUNS, ""],
        ["full sync, chunks/s", s["full_sync_chunks_per_s"], FULL_RUNS, ""],
        ["  of which store.maintain, s", s["maintain_s"], FULL_RUNS, ""],
        ["raw encode, s", s["encode_s"], ENCODE_RUNS, ""],
        ["raw encode, chunks/s", s["encode_chunks_per_s"], ENCODE_RUNS, ""],
        ["pipeline overhead, %", s["pipeline_overhead_pct"], "", "< 10"],
        ["re-sync unchanged, s", s["resync_s"], RESYNC_RUNS, ""],
        ["re-sync / full sync, %", s["resync_pct_of_full"], "", "< 5"],
        ["re-sync after touch (mtime only), s", s["touch_resync_s"], EDIT_RUNS, ""],
        ["re-sync after 1-line edit, s", s["edit_resync_s"], EDIT_RUNS, ""],
        ["chunks embedded per edit", str(s["edit_chunks_embedded"]), EDIT_RUNS, ""],
    ]))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
