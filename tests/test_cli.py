"""The command-line contract, run as a user runs it: the installed `policybot` script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write

POLICYBOT = str(Path(sys.executable).with_name("policybot"))
SEARCH_KEYS = {"source", "path", "title", "section", "url", "text", "score", "version", "date",
               "dated_by"}


def run(*args: str, config: Path | None = None, input: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI; the home comes from the config file unless ``env`` sets one."""
    cmd = [POLICYBOT] + (["--config", str(config)] if config else []) + list(args)
    base = {k: v for k, v in os.environ.items() if k != "POLICYBOT_HOME"}
    return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=300,
                          env={**base, **(env or {})})


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("cli")
    docs = root / "docs"
    write(docs, "leave.md", "---\ntitle: Leave\n---\n# Leave\n\n## Annual leave\n\n"
          "Everyone gets 25 days of annual leave a year.\n")
    write(docs, "secret.md", "---\naudience: [managers]\n---\n# Bands\n\n"
          "Salary band review happens in March.\n")
    write(docs, "bad.md", "---\ntitle: [\n---\n")
    config = root / "policybot.toml"
    config.write_text(f'home = "{root / "home"}"\n\n[[sources]]\nname = "handbook"\n'
                      f'type = "directory"\npath = "{docs}"\n'
                      'url = "https://github.com/org/handbook/blob/main/{path}"\n'
                      'schedule = "0 6 * * *"\n')
    result = run("sync", "--json", config=config)
    assert result.returncode == 0, result.stderr
    return config, json.loads(result.stdout)


def test_sync_json_contract(synced: tuple[Path, dict]) -> None:
    _, report = synced
    assert set(report) == {"added", "updated", "unchanged", "deleted", "failed", "empty",
                           "chunks_embedded", "seconds"}
    assert all(isinstance(report[k], int) for k in report if k != "seconds")
    assert isinstance(report["seconds"], float)
    assert (report["added"], report["failed"]) == (2, 1)


def test_sync_reports_skipped_documents_on_stderr(synced: tuple[Path, dict]) -> None:
    config, _ = synced
    result = run("sync", config=config)
    assert result.returncode == 0
    assert "skipped bad.md: front matter is not valid YAML" in result.stderr


def test_search_json_contract(synced: tuple[Path, dict]) -> None:
    config, _ = synced
    result = run("search", "how many vacation days", "-k", "3", "--json", config=config)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits and all(set(h) == SEARCH_KEYS for h in hits)
    assert hits[0]["path"] == "leave.md" and hits[0]["source"] == "handbook"
    assert hits[0]["url"] == "https://github.com/org/handbook/blob/main/leave.md#annual-leave"
    assert all(h["path"] != "secret.md" for h in hits)
    managers = json.loads(run("search", "salary band review", "--audience", "hr,managers",
                              "--json", config=config).stdout)
    assert managers[0]["path"] == "secret.md"


def test_search_batch_loads_once_and_answers_each_line(synced: tuple[Path, dict],
                                                       tmp_path: Path) -> None:
    config, _ = synced
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "annual leave days"}\n\n'
                     '{"id": 7, "question": "salary band review"}\n')
    result = run("search", "--batch", str(batch), "-k", "2", "--json", config=config)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]
    assert lines[0]["results"][0]["path"] == "leave.md"
    assert all(r["path"] != "secret.md" for line in lines for r in line["results"])
    assert result.stderr.count("Loading SentenceTransformer") <= 1


def test_status_shows_sources_counts_and_next_run(synced: tuple[Path, dict]) -> None:
    config, _ = synced
    result = run("status", config=config)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "handbook (directory): 2 documents" in out
    assert "partial (cli)" in out and "skipped bad.md" in out
    assert "schedule: 0 6 * * *, next run" in out and "06:00:00 UTC" in out


def test_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[sources]]\nname = "x"\ntype = "directory"\npath = "/x"\nsched = 1\n')
    result = run("status", config=config)
    assert result.returncode == 2
    assert str(config) in result.stderr and "sources[0].sched: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_search_before_sync_tells_the_user_what_to_run(tmp_path: Path) -> None:
    result = run("search", "anything", env={"POLICYBOT_HOME": str(tmp_path / "new")})
    assert result.returncode == 1
    assert "run `policybot sync` first" in result.stderr and "Traceback" not in result.stderr


def test_failing_source_exits_nonzero_and_keeps_index(synced: tuple[Path, dict],
                                                      tmp_path: Path) -> None:
    config, _ = synced
    broken = tmp_path / "broken.toml"
    text = config.read_text()
    docs_line = next(line for line in text.splitlines() if line.startswith("path"))
    broken.write_text(text.replace(docs_line, f'path = "{tmp_path / "gone"}"'))
    result = run("sync", "--json", config=broken)
    assert result.returncode == 1
    assert json.loads(result.stdout)["deleted"] == 0
    assert json.loads(run("search", "annual leave", "--json", config=config).stdout)


ASK_KEYS = {"answer", "abstained", "grounded", "citations", "timings_ms"}
CITATION_KEYS = {"n", "title", "url", "source", "path", "section", "quote", "version", "date",
                 "dated_by", "links"}


def test_ask_json_contract(synced: tuple[Path, dict]) -> None:
    config, _ = synced
    result = run("ask", "how many days of annual leave do I get", "--json", config=config)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= ASK_KEYS
    assert answer["grounded"] and not answer["abstained"] and "25 days" in answer["answer"]
    (citation,) = answer["citations"]
    assert set(citation) == CITATION_KEYS and citation["n"] == 1 and "[1]" in answer["answer"]
    assert citation["quote"] == "Everyone gets 25 days of annual leave a year."
    # a folder's file states no date: the sync day, labelled as such; never its mtime
    assert (citation["version"], citation["dated_by"], len(citation["date"])) == \
        ("", "synced", 10)
    assert set(answer["timings_ms"]) == {"retrieve", "generate", "total"}
    # loading the model and the index is reported apart, not inside the answer's time
    assert answer["load_ms"] > answer["timings_ms"]["retrieve"] > 0


def test_ask_human_output_lists_sources(synced: tuple[Path, dict]) -> None:
    config, _ = synced
    done = run("ask", "how many days of annual leave do I get", config=config)
    answer, sources = done.stdout.split("Sources:")
    assert re.search(r"\(extractive, \d+ ms; ready after \d+ ms of loading\)", done.stderr)
    assert "25 days" in answer
    assert "[1] Leave — Annual leave" in sources and "Leave — Leave" not in sources
    assert "https://github.com/org/handbook/blob/main/leave.md#annual-leave" in sources
    assert "“Everyone gets 25 days of annual leave a year.”" in sources


def test_ask_batch_and_bad_questions(synced: tuple[Path, dict], tmp_path: Path) -> None:
    config, _ = synced
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": 1, "question": "annual leave days?"}\n'
                     '{"id": 2, "question": "   "}\n'
                     '{"id": 3, "question": "salary band review"}\n')
    result = run("ask", "--batch", str(batch), "--json", config=config)
    assert result.returncode == 0, result.stderr
    lines = {line["id"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert lines[1]["grounded"] and "empty" in lines[2]["error"]
    assert lines[3]["abstained"] and "secret.md" not in json.dumps(lines[3])
    for bad, message in (("", "empty"), ("x" * 20_000, "20,000 characters")):
        res = run("ask", bad, config=config)
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("command", ["search", "ask"])
def test_unknown_source_is_an_error_naming_the_configured_ones(synced: tuple[Path, dict],
                                                               command: str,
                                                               tmp_path: Path) -> None:
    config, _ = synced
    res = run(command, "how many days of annual leave", "--source", "handbook,nosuch",
              config=config)
    assert res.returncode == 2, res.stdout
    assert "unknown source 'nosuch'; configured sources: handbook" in res.stderr
    assert res.stdout == "" and "Traceback" not in res.stderr
    res = run(command, "how many days of annual leave", "--source", "nosuch", "--json",
              config=config)
    assert res.returncode == 2
    assert json.loads(res.stdout) == {
        "error": "unknown source 'nosuch'; configured sources: handbook"}
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": 1, "question": "annual leave days?"}\n')
    res = run(command, "--batch", str(batch), "--source", "nosuch", "--json", config=config)
    assert res.returncode == 2 and "nosuch" in json.loads(res.stdout)["error"]


@pytest.mark.parametrize("command", ["search", "ask"])
def test_search_and_ask_turn_back_the_same_bad_questions(synced: tuple[Path, dict],
                                                         command: str) -> None:
    config, _ = synced
    for bad, message in (("   ", "The question is empty"), ("x" * 20_000, "20,000 characters"),
                         (":wave: hi", "can't tell what you're asking")):
        res = run(command, bad, config=config)
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert res.stdout == "" and "Traceback" not in res.stderr
        res = run(command, bad, "--json", config=config)
        assert res.returncode == 2 and message in json.loads(res.stdout)["error"]


def test_search_of_a_long_message_searches_the_question_in_it(synced: tuple[Path, dict],
                                                              tmp_path: Path) -> None:
    config, _ = synced
    long = "Some background. " * 150 + "How many days of annual leave do I get?"
    res = run("search", long, "--json", config=config)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)[0]["path"] == "leave.md"
    assert "so I answered the question in it" in res.stderr
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": 1, "question": "annual leave days?"}\n'
                     '{"id": 2, "question": "   "}\n')
    lines = [json.loads(line) for line in
             run("search", "--batch", str(batch), "--json", config=config).stdout.splitlines()]
    assert lines[0]["results"][0]["path"] == "leave.md"
    assert lines[1] == {"id": 2, "error": lines[1]["error"]} and "empty" in lines[1]["error"]


def test_eval_reports_metrics_with_config_after_the_file(synced: tuple[Path, dict],
                                                         tmp_path: Path) -> None:
    config, _ = synced
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"id": "a", "question": "how many annual leave days", '
                  '"gold_paths": ["leave.md"], "answer": "25 days"}\n'
                  '{"id": "b", "question": "can I bring my dog to work", "gold_paths": [], '
                  '"answer": ""}\n')
    result = run("eval", str(qa), "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    ours = report["systems"]["policybot"]
    assert (report["answerable"], report["unanswerable"]) == (1, 1)
    assert ours["gold_cited"] == 1.0 and ours["quote_integrity"] == 1.0
    assert ours["abstain_recall"] == 1.0 and "top_bm25" in report["systems"]
    table = run("eval", str(qa), "--config", str(config)).stdout
    assert "gold_cited" in table and "policybot" in table and "top_bm25" in table
