"""How long a newcomer waits for each first command: fresh processes, as typed.

Each command runs ``--runs`` times in a new process (the OS file cache warm, as on any
second run): ``policybot --help``, ``init`` of the sample handbook, ``status`` and ``ask``
of an index synced once before the timed runs. For ``ask`` the wall time is split into
what the process spends before the question (imports, settings, the model and the index:
``load_ms`` in its JSON) and the answer's own time (``timings_ms.total``). Medians with
the 1-minute load average of the machine, to ``bench/results/cold_start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import load_now, machine, median, table, write_results

POLICYBOT = str(Path(sys.executable).with_name("policybot"))
QUESTION = "How many days of annual leave do I get?"


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run([POLICYBOT, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    took = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr[-500:]}")
    return took, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    from indexer.sample import sample_source

    handbook = Path(sample_source()["path"])
    work = Path(tempfile.mkdtemp(prefix="policybot-cold-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYBOT_")}
    env["POLICYBOT_HOME"] = str(work / "home")
    try:
        _run(["init", str(handbook), "--output", "policybot.toml"], work, env)
        _run(["--config", "policybot.toml", "sync"], work, env)  # exports the model once
        rows, out = [], {}
        commands = {
            "--help": ["--help"],
            "init": ["init", str(handbook), "--output", "again.toml", "--force"],
            "status": ["--config", "policybot.toml", "status"],
            "ask": ["--config", "policybot.toml", "ask", "--json", QUESTION],
        }
        for name, args in commands.items():
            walls, loads, answers, load_avg = [], [], [], []
            for _ in range(runs):
                load_avg.append(load_now())
                wall, stdout = _run(args, work, env)
                walls.append(wall * 1000)
                if name == "ask":
                    answer = json.loads(stdout)
                    loads.append(answer["load_ms"])
                    answers.append(answer["timings_ms"]["total"])
            out[name] = {"wall_ms": walls, "load_ms": loads, "answer_ms": answers,
                         "load_avg": load_avg}
            rows.append([name, f"{median(walls):.0f}",
                         f"{median(loads):.0f}" if loads else "",
                         f"{median(answers):.0f}" if answers else "",
                         f"{median(load_avg):.1f}"])
        print(table(["command", "wall ms (median)", "model+index load ms", "answer ms",
                     "load avg"], rows))
        path = write_results("cold_start", {"machine": machine(), "runs": runs, **out})
        print(f"\nraw results: {path}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
