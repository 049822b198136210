"""Cost of parsing every document in the sandboxed worker instead of in-process.

Why: issue 9 puts each document's parse under a memory and time budget in a reused
worker process; a full sync may not get more than 5 % slower for it. Parsing alone is
the strictest yardstick (embedding, which dominates a real sync, is left out), so this
times read-once documents parsed in-process and in the worker, alternating runs so
machine load hits both alike, and reports the medians of wall time and of CPU time
(parent + worker), the second being the one that machine load cannot inflate. The
worker's one-off start (importing the parsers) is reported on its own.

Run: ``PYTHONPATH=. .venv/bin/python bench/parse_isolation.py`` (about a minute).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from indexer.config import DirectorySourceConfig, ParsingSettings
from indexer.parsing import parse_document
from indexer.parsing.cleaning import TemplateCleaner
from indexer.parsing.sandbox import close_workers, parse_ahead, parse_isolated, worker_for
from indexer.sources.directory import DirectorySource

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {"sample handbook": ROOT / "indexer" / "sample_handbook",
           "18f-tts-handbook": ROOT.parent / "shared" / "data" / "corpora" / "18f-tts-handbook"}
RUNS = 7


def cpu_seconds(pid: int | None) -> float:
    """CPU time of this process, plus that of process ``pid`` when given."""
    own = time.process_time()
    if pid is None:
        return own
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return own + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    settings, cleaner = ParsingSettings(), TemplateCleaner()
    for name, folder in CORPORA.items():
        if not folder.is_dir():
            print(f"{name}: {folder} missing, skipped", file=sys.stderr)
            continue
        src = DirectorySource(DirectorySourceConfig(name="b", type="directory", path=folder))
        docs = [src.read(ref) for ref in src.list()]
        started = time.perf_counter()
        parse_isolated(docs[0], cleaner, settings)  # starts the worker
        start_s = time.perf_counter() - started
        pid = worker_for(settings.memory_mb, settings.timeout_s)._proc.pid  # type: ignore
        inproc, isolated, cpu_in, cpu_iso = [], [], [], []
        for _ in range(RUNS):
            for label, times, cpu in (("in", inproc, cpu_in), ("iso", isolated, cpu_iso)):
                c = cpu_seconds(pid if label == "iso" else None)
                t = time.perf_counter()
                if label == "iso":  # as the sync does: the worker parses a few ahead
                    for _ in parse_ahead(enumerate(docs), cleaner, settings):
                        pass
                for raw in docs if label == "in" else ():
                    try:
                        parse_document(raw, cleaner)
                    except Exception:  # noqa: S112 - a bad file costs the same either way
                        continue
                times.append(time.perf_counter() - t)
                cpu.append(cpu_seconds(pid if label == "iso" else None) - c)
        a, b = statistics.median(inproc), statistics.median(isolated)
        ca, cb = statistics.median(cpu_in), statistics.median(cpu_iso)
        size = sum(len(d.content) for d in docs) / 1e6
        print(f"{name}: {len(docs)} docs, {size:.1f} MB; in-process {a:.3f} s, "
              f"worker {b:.3f} s (median of {RUNS}); wall overhead {100 * (b - a) / a:+.1f} %; "
              f"CPU {ca:.3f} s vs {cb:.3f} s ({100 * (cb - ca) / ca:+.1f} %); "
              f"worker start {start_s:.2f} s once; load {os.getloadavg()[0]:.1f}")
        close_workers()


if __name__ == "__main__":
    main()
