"""Indexing throughput: full sync vs raw model encoding, re-sync and incremental edits.

Why these numbers: on a CPU box the embedding model should dominate a full sync, so the
honest yardstick is ``SentenceTransformer.encode`` on exactly the texts the sync embedded;
whatever the sync costs beyond that (parsing, chunking, hashing, LanceDB writes, the FTS
index) is overhead we control. A re-sync of unchanged sources runs on every schedule tick,
so it must cost a small fraction of a full sync. Goals: overhead < 10 %, re-sync < 5 %.

Run: ``.venv/bin/python bench/indexing.py`` (7–15 min on 2 CPU cores, by load).
"""

from __future__ import annotations

import os
import shutil
import sys
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

PAIRS, RESYNC_RUNS, EDIT_RUNS = 2, 5, 3  # PAIRS: full sync + raw encode, back to back


def timed_sync(index: Any) -> dict[str, Any]:
    """One ``index.sync()`` with its summary, load, and the seconds spent inside
    ``embedder.embed`` and ``store.maintain``: measured in the same run, the split between
    model time and pipeline time does not depend on what else the machine is doing."""
    spent: dict[str, float] = {"embed": 0.0, "maintain": 0.0}

    def wrap(owner: Any, name: str, key: str) -> None:  # on the instance, for this call only
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start

        setattr(owner, name, timed)

    wrap(index.embedder, "embed", "embed")
    wrap(index.store, "maintain", "maintain")
    load = load_now()
    try:
        with timer() as t:
            summary = index.sync().summary()
    finally:
        del index.embedder.embed, index.store.maintain
    return {**summary, "wall_s": t[0], "embed_s": spent["embed"],
            "maintain_s": spent["maintain"], "load1": load}


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
            shutil.copytree(data / rel, tmp / "corpora" / name)
        sources = corpus_sources(tmp / "corpora")
        sources = [{**s, "path": str(tmp / "corpora" / s["name"])} for s in sources]

        embedder, full, encode = None, [], []
        for i in range(PAIRS):  # interleaved, so load drift hits sync and encode alike
            index = make_index(tmp / f"home{i}", sources, embedder)  # fresh: a first sync
            embedder = index.embedder
            full.append(timed_sync(index))
            print(f"full sync {i + 1}: {full[-1]}", flush=True)
            texts = embedded_texts(index)
            encode.append(encode_once(index, texts))
            print(f"raw encode {i + 1}: {encode[-1]}", flush=True)
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
            "embed_in_sync_s": median([r["embed_s"] for r in full]),
            "non_embed_s": median([r["wall_s"] - r["embed_s"] for r in full]),
            "non_embed_pct_of_sync": median([100 * (1 - r["embed_s"] / r["wall_s"])
                                             for r in full]),
            "maintain_s": median([r["maintain_s"] for r in full]),
            "encode_s": encode_s, "encode_chunks_per_s": len(texts) / encode_s,
            "pipeline_overhead_pct": 100 * (sync_s - encode_s) / encode_s,
            "pipeline_overhead_pairwise_pct": median(  # sync i and encode i ran back to back
                [100 * (f["wall_s"] - e["wall_s"]) / e["wall_s"]
                 for f, e in zip(full, encode, strict=True)]),
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
        ["full sync, s", s["full_sync_s"], PAIRS, ""],
        ["full sync, chunks/s", s["full_sync_chunks_per_s"], PAIRS, ""],
        ["  of which inside embedder.embed, s", s["embed_in_sync_s"], PAIRS, ""],
        ["  of which everything else, s", s["non_embed_s"], PAIRS, ""],
        ["  everything else, % of sync (same run)", s["non_embed_pct_of_sync"], PAIRS,
         "< 10"],
        ["  of which store.maintain, s", s["maintain_s"], PAIRS, ""],
        ["raw encode, s", s["encode_s"], PAIRS, ""],
        ["raw encode, chunks/s", s["encode_chunks_per_s"], PAIRS, ""],
        ["pipeline overhead (sync - encode) / encode, %", s["pipeline_overhead_pct"], "",
         "< 10"],
        ["  same, median of back-to-back pairs, %", s["pipeline_overhead_pairwise_pct"],
         PAIRS, "< 10"],
        ["re-sync unchanged, s", s["resync_s"], RESYNC_RUNS, ""],
        ["re-sync / full sync, %", s["resync_pct_of_full"], "", "< 5"],
        ["re-sync after touch (mtime only), s", s["touch_resync_s"], EDIT_RUNS, ""],
        ["re-sync after 1-line edit, s", s["edit_resync_s"], EDIT_RUNS, ""],
        ["chunks embedded per edit", str(s["edit_chunks_embedded"]), EDIT_RUNS, ""],
    ]))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    if "--backends" in sys.argv[1:]:  # torch vs ONNX Runtime vs OpenVINO, one run
        import backends

        backends.compare("indexing")
    else:
        main()
