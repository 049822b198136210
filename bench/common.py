"""Helpers shared by the benchmark scripts in this folder.

The scripts are run as plain files (``.venv/bin/python bench/indexing.py``), so this module
is imported as ``common`` from the script's own folder. Everything that would make two
scripts disagree about *how* something is measured lives here: where the shared data is,
how an index is built and warmed, how timings are summarised and where results go.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Set before the model libraries import: no hub access, no tokenizer fork warnings.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
# Indexes the benchmarks build and reuse between runs.
BENCH_CACHE = Path(os.environ.get("POLICYBOT_BENCH_CACHE", RESULTS / "cache"))
CORPORA = {  # source name → folder under shared/data/corpora
    "tts-handbook": "18f-tts-handbook/pages",
    "sourcegraph-handbook": "sourcegraph-handbook",
}


def shared_data() -> Path:
    """The read-only data folder: ``POLICYBOT_SHARED_DATA`` or ``../shared/data``."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("POLICYBOT_SHARED_DATA", default))


def require_data(*parts: str) -> Path:
    """The data path, or exit 0: a plain clone has no data and that is not a failure."""
    path = shared_data().joinpath(*parts)
    if not path.exists():
        print(f"skipped: ../shared/data not found ({path})")
        sys.exit(0)
    return path


def policyqa_asked(split: str) -> list[tuple[list[str], dict[str, set[int]]]]:
    """Per policy of PolicyQA's ``split`` file ("dev" or "test"): its paragraphs, and each
    distinct question with the indexes of the paragraphs it was asked of."""
    path = require_data("qa", "policyqa", f"{split}.json")
    out = []
    for policy in json.loads(path.read_text(encoding="utf-8"))["data"]:
        asked: dict[str, set[int]] = {}
        for i, p in enumerate(policy["paragraphs"]):
            for qa in p["qas"]:
                asked.setdefault(qa["question"].strip(), set()).add(i)
        out.append(([p["context"] for p in policy["paragraphs"]], asked))
    return out


def setup_logging() -> None:
    """Warnings only: the sync's per-source INFO lines would interleave with the tables."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("indexer", "lancedb", "sentence_transformers", "transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)


def corpus_sources(root: Path) -> list[dict[str, Any]]:
    """Directory-source configs for the two Markdown handbooks under ``root``."""
    return [{"name": name, "type": "directory", "path": str(root / rel)}
            for name, rel in CORPORA.items()]


def make_index(home: Path, sources: list[dict[str, Any]], embedder: Any = None,
               **overrides: Any) -> Any:
    """A PolicyIndex in ``home`` with model and chunker loaded, so timings exclude them.

    Passing an already-loaded ``embedder`` shares one model across indexes, as the
    test-suite does; loading MiniLM again would cost seconds and change nothing measured.
    """
    from indexer.config import load_settings
    from indexer.index import PolicyIndex

    settings = load_settings(home=home, sources=sources, **overrides)
    index = PolicyIndex(settings, embedder=embedder)
    index.embedder.model  # noqa: B018 - load outside any timed region
    index.chunker  # noqa: B018
    return index


@contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` is the elapsed wall time in seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def time_calls(fn: Callable[[Any], Any], args: Sequence[Any]) -> list[float]:
    """Wall seconds of ``fn(a)`` for each ``a``, one at a time (latency, not throughput)."""
    out = []
    for a in args:
        start = time.perf_counter()
        fn(a)
        out.append(time.perf_counter() - start)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: no interpolation, so p95 is a latency that really happened."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Median and p95 in milliseconds: the mean would be dragged by a stray slow call."""
    return {"n": len(seconds), "median_ms": round(statistics.median(seconds) * 1000, 2),
            "p95_ms": round(percentile(seconds, 95) * 1000, 2)}


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def machine() -> dict[str, Any]:
    """What the numbers were measured on, load included: the box is shared with tests."""
    import torch

    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(), "python": platform.python_version(),
            "platform": platform.platform(), "loadavg": [round(x, 2) for x in os.getloadavg()]}


def load_now() -> float:
    """1-minute load average, recorded next to each timed phase."""
    return round(os.getloadavg()[0], 2)


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Raw results as JSON in bench/results/ (gitignored), stamped with time and machine."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    payload = {"benchmark": name, "utc": stamp.isoformat(timespec="seconds"),
               "machine": machine(), **data}
    path = RESULTS / f"{name}-{stamp:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats get 3 significant decimals at most."""
    def cell(v: Any) -> str:
        return f"{v:,.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def vector_top(table_: Any, vec: Any, n: int, configured: dict[str, list[str]],
               brute: bool = False, **tuning: int) -> list[str]:
    """Chunk ids from the Retriever's own vector query, given a precomputed vector, so a
    timing of it holds no embedding; ``tuning`` (nprobes, refine_factor) is applied as is;
    ``configured`` is the retriever's source → audience map."""
    from indexer.retrieval import COLUMNS, build_filter

    q = (table_.search(vec, vector_column_name="vector").distance_type("cosine")
         .where(build_filter(None, None, configured), prefilter=True).limit(n)
         .select([*COLUMNS, "_distance"]))
    for name, value in tuning.items():
        q = getattr(q, name)(value)
    q = q.bypass_vector_index() if brute else q
    return [r["chunk_id"] for r in q.to_list()]


def synthetic_store(base: Any, uri: str, rows: int, noise: float) -> Any:
    """A ChunkStore of ``rows`` chunks: the real rows of ``base`` (an Arrow table of the
    chunk schema), then copies with unique ids and vectors ``normalise(v + N(0, noise²))``.

    Embedding 100k texts on a CPU takes an hour and measures nothing new; perturbed copies
    keep the real vectors' cluster structure, which random unit vectors would not (IVF on
    structureless data is a worst case no corpus has). Seeded: the same table every run."""
    import numpy as np
    import pyarrow as pa

    from indexer.config import IndexSettings
    from indexer.store import ChunkStore

    rng = np.random.default_rng(0)
    dim = base.schema.field("vector").type.list_size
    real = np.stack(base.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
    parts, total, copy = [], 0, 0
    while total < rows:
        take = min(base.num_rows, rows - total)
        part, vec = base.slice(0, take), real[:take]
        if copy:
            vec = vec + rng.normal(0, noise, vec.shape).astype(np.float32)
            vec /= np.linalg.norm(vec, axis=1, keepdims=True)
            for col in ("chunk_id", "doc_id", "path"):
                values = pa.array([f"{v}#r{copy}" for v in part.column(col).to_pylist()])
                part = part.set_column(part.schema.get_field_index(col), col, values)
        flat = pa.array(vec.reshape(-1), type=pa.float32())
        part = part.set_column(part.schema.get_field_index("vector"), "vector",
                               pa.FixedSizeListArray.from_arrays(flat, dim))
        parts.append(part)
        total, copy = total + take, copy + 1
    defaults = IndexSettings()
    store = ChunkStore(uri, defaults.table, defaults.read_consistency_s)
    store.ensure_table(dim)
    store.table.add(pa.concat_tables(parts))
    return store


# -- slack-dev: the team's fixed tuning/reporting split ------------------------------------
SLACK_DEV_CORPORA = {  # corpus value in questions.jsonl → (source name, folder, gold prefix)
    "18f-tts-handbook": ("tts-handbook", ("corpora", "18f-tts-handbook", "pages"), "pages/"),
    "sourcegraph-handbook": ("sourcegraph-handbook", ("corpora", "sourcegraph-handbook"), ""),
    "sample-handbook": ("sample-handbook", None, ""),  # None: indexer/sample_handbook
}
HELD_OUT_CORPUS = "sourcegraph-handbook"  # never used for a tuning decision


def load_slack_dev() -> list[dict[str, Any]]:
    """The 150 slack-dev records, in file order (exits 0 without the shared data)."""
    path = require_data("qa", "slack-dev", "questions.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def slack_dev_split(records: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                 list[dict[str, Any]]]:
    """(dev, test) for the whole team: even id numbers (d002, d004, …) are dev and may be
    tuned on; odd ones are test and are only ever reported. A follow-up and the question it
    follows can land on different sides; the follow-up is scored where its own id falls.
    Tuning decisions also leave out ``HELD_OUT_CORPUS`` (see ``tuning_records``)."""
    dev, test = [], []
    for r in records:
        (dev if int(r["id"].lstrip("d")) % 2 == 0 else test).append(r)
    return dev, test


def tuning_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a tuning decision may look at: dev questions of the corpora not held out."""
    dev, _ = slack_dev_split(records)
    return [r for r in dev if r["corpus"] != HELD_OUT_CORPUS]


def slack_dev_sources() -> list[dict[str, Any]]:
    """Directory sources for the three slack-dev corpora, named as SLACK_DEV_CORPORA says."""
    from indexer.sample import SAMPLE_DIR

    out = []
    for name, folder, _ in SLACK_DEV_CORPORA.values():
        path = SAMPLE_DIR if folder is None else require_data(*folder)
        out.append({"name": name, "type": "directory", "path": str(path)})
    return out


def slack_dev_gold(record: dict[str, Any]) -> tuple[str, set[str]]:
    """(source name, gold doc ids) of a record, doc ids as the index spells them."""
    name, _, prefix = SLACK_DEV_CORPORA[record["corpus"]]
    return name, {f"{name}:{p.removeprefix(prefix)}" for p in record["gold_paths"]}
