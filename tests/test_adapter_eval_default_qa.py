"""``policybot adapters eval DIR`` without ``--qa`` uses the handbook questions shipped as
package data, over the bundled sample handbook."""

from __future__ import annotations

import json
import shutil
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.lora.evaluation import DEFAULT_QA

ROOT = Path(__file__).resolve().parents[1]


def test_the_default_questions_are_package_data() -> None:
    assert DEFAULT_QA.is_file()
    package = ROOT / "bot"
    assert DEFAULT_QA.resolve().is_relative_to(package)
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["bot"]
    relative = DEFAULT_QA.resolve().relative_to(package).as_posix()
    assert any(fnmatch(relative, p) for p in patterns), (relative, patterns)
    first = json.loads(DEFAULT_QA.read_text(encoding="utf-8").splitlines()[0])
    assert {"id", "question", "gold_paths"} <= set(first)


@pytest.mark.slow
def test_adapters_eval_without_qa_scores_the_shipped_questions(
        tmp_path: Path, tiny_model_dir: Path, tiny_adapter_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("POLICYBOT_HOME", str(home))
    candidate = tmp_path / "candidate"
    shutil.copytree(tiny_adapter_dir, candidate)
    result = CliRunner().invoke(main, ["adapters", "eval", str(candidate), "--base",
                                       str(tiny_model_dir), "--limit", "2", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads((candidate / "metrics.json").read_text())
    assert record["qa"] == str(DEFAULT_QA) and record["questions"] == 2
    for key in ("gold_cited", "abstain_recall", "fallback_rate"):
        assert key in record["metrics"] and key in record["base_metrics"]


def test_in_process_gate_decodes_greedily_with_the_production_options(tmp_path: Path
                                                                      ) -> None:
    """Both gate paths decode alike: the configured options, sampling turned off."""
    from bot.cli.lora_release_commands import _variants
    from bot.settings import load_app_settings

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"base_model_name_or_path": "base"}')
    settings = load_app_settings(generator={"backend": "openai", "base_url": "http://x/v1",
                                            "model": "base", "options": {
                                                "max_tokens": 123, "temperature": 0.7,
                                                "top_p": 0.9}})
    local = _variants(settings, adapter, None, None, None, None)
    served = _variants(settings, adapter, None, "http://vllm:8000/v1", "cand", None)
    for candidate, base in (local, served):
        assert candidate.options == base.options == {"max_tokens": 123, "temperature": 0,
                                                     "top_p": 0.9}
    assert local[0].backend == "local" and local[0].adapter_path == adapter
    assert local[1].adapter_path is None
