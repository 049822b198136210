"""Serving adapters: the validator, vLLM's runtime LoRA API (against a stand-in that answers
as vLLM does), pushing a new version, the registry and its health check, the gate."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.answering import with_adapter
from bot.cli import main
from bot.lora.health import AdapterHealth
from bot.lora.push import PushError, push_adapter
from bot.lora.registry import AdapterRegistry
from bot.settings import load_app_settings
from model.adapters.gate import compare
from model.adapters.runtime import LoRARuntimeClient, RuntimeLoRAError
from model.adapters.validate import has_errors, validate_adapter
from model.generators.base import GeneratorUnavailable
from model.generators.local import LocalTransformersGenerator
from model.generators.openai_http import OpenAICompatibleGenerator
from model.passages import NumberedPassage
from tests.adapter_fixtures import make_adapter
from tests.tiny_model import TINY_MODEL_ID
from tests.vllm_lora_standin import vllm_standin


def _errors(findings: list[Any]) -> dict[str, str]:
    return {f.check: f.message for f in findings if f.level == "error"}


def _rebase(folder: Path, base: str) -> Path:
    config = json.loads((folder / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = base
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def adapters_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[str, Path]:
    """Real peft adapters of several shapes for the tiny model, recorded under its hub id."""
    root = tmp_path_factory.mktemp("adapters")
    made = {"good": make_adapter(tiny_model_dir, root / "good"),
            "good2": make_adapter(tiny_model_dir, root / "good2", seed=1),
            "rank64": make_adapter(tiny_model_dir, root / "rank64", r=64, lora_alpha=128),
            "dora": make_adapter(tiny_model_dir, root / "dora", use_dora=True)}
    for folder in made.values():
        _rebase(folder, TINY_MODEL_ID)
    return made


# --- validation ---------------------------------------------------------------------------

def test_a_plain_adapter_passes(adapters_dir: dict[str, Path], tiny_model_dir: Path) -> None:
    found = validate_adapter(adapters_dir["good"], 16, TINY_MODEL_ID)
    assert not has_errors(found)
    assert {f.check: f.level for f in found} == {
        "config": "ok", "rank": "ok", "modules": "ok", "base": "ok", "weights": "ok"}
    # a local base folder is matched by name, its architecture read from config.json
    found = validate_adapter(_rebase(shutil.copytree(adapters_dir["good"], tiny_model_dir.parent
                                                     / "local-base"), str(tiny_model_dir)),
                             16, "/srv/models/model/")
    assert not has_errors(found) and "config.json" in next(f.message for f in found
                                                         if f.check == "modules")


def test_rank_above_the_servers_limit_is_refused(adapters_dir: dict[str, Path]) -> None:
    errors = _errors(validate_adapter(adapters_dir["rank64"], 16, TINY_MODEL_ID))
    assert "r=64 exceeds --max-lora-rank 16" in errors["rank"]
    assert "rank up to 64" in errors["weights"]
    assert not has_errors(validate_adapter(adapters_dir["rank64"], 64, TINY_MODEL_ID))


def test_dora_is_refused(adapters_dir: dict[str, Path]) -> None:
    assert "DoRA" in _errors(validate_adapter(adapters_dir["dora"], 16, TINY_MODEL_ID))["dora"]


def test_an_adapter_for_another_base_is_refused(adapters_dir: dict[str, Path],
                                                tmp_path: Path) -> None:
    other = _rebase(shutil.copytree(adapters_dir["good"], tmp_path / "other"),
                    "meta-llama/Llama-3.1-8B-Instruct")
    errors = _errors(validate_adapter(other, 16, TINY_MODEL_ID))
    assert "trained on 'meta-llama/Llama-3.1-8B-Instruct'" in errors["base"]
    assert not has_errors(validate_adapter(other, 16, "/models/Llama-3.1-8B-Instruct"))


@pytest.mark.parametrize(("change", "check", "level"), [
    ({"modules_to_save": ["lm_head"]}, "modules_to_save", "error"),
    ({"bias": "all"}, "bias", "error"),
    ({"target_modules": ["q_proj", "embed_tokens"]}, "modules", "error"),
    ({"layers_to_transform": [0]}, "layers", "warning"),
    ({"target_modules": ".*proj"}, "modules", "warning"),
    ({"use_rslora": True}, "rslora", "ok"),
    ({"base_model_name_or_path": "acme/house-model"}, "modules", "warning"),
    ({"peft_type": "IA3"}, "type", "error"),
])
def test_unservable_options_are_flagged(adapters_dir: dict[str, Path], tmp_path: Path,
                                        change: dict[str, Any], check: str, level: str) -> None:
    folder = shutil.copytree(adapters_dir["good"], tmp_path / "a")
    config = json.loads((folder / "adapter_config.json").read_text()) | change
    (folder / "adapter_config.json").write_text(json.dumps(config))
    base = "acme/house-model" if "base_model_name_or_path" in change else TINY_MODEL_ID
    assert (check, level) in {(f.check, f.level) for f in validate_adapter(folder, 16, base)}


def test_missing_or_pickled_weights_and_bad_config(adapters_dir: dict[str, Path],
                                                   tmp_path: Path) -> None:
    folder = shutil.copytree(adapters_dir["good"], tmp_path / "a")
    (folder / "adapter_model.safetensors").rename(folder / "adapter_model.bin")
    assert "adapter_model.bin" in _errors(validate_adapter(folder, 16, TINY_MODEL_ID))["weights"]
    (folder / "adapter_config.json").write_text("{not json")
    assert "config" in _errors(validate_adapter(folder, 16, TINY_MODEL_ID))
    assert "folder" in _errors(validate_adapter(tmp_path / "absent", 16, TINY_MODEL_ID))


def test_validate_command_prints_findings_and_fails_on_errors(
        adapters_dir: dict[str, Path]) -> None:
    ok = CliRunner().invoke(main, ["adapters", "validate", str(adapters_dir["good"]),
                                   "--base", TINY_MODEL_ID])
    assert ok.exit_code == 0 and "✓ rank: r=4" in ok.output
    bad = CliRunner().invoke(main, ["adapters", "validate", str(adapters_dir["rank64"]),
                                    "--max-lora-rank", "16", "--base", TINY_MODEL_ID])
    assert bad.exit_code == 1 and "✗ rank" in bad.output
    unknown = CliRunner().invoke(main, ["adapters", "validate", str(adapters_dir["good"])])
    assert unknown.exit_code == 0 and "! base: served base model unknown" in unknown.output


# --- vLLM's runtime LoRA API --------------------------------------------------------------

def test_runtime_client_speaks_vllms_lora_api(adapters_dir: dict[str, Path]) -> None:
    path = str(adapters_dir["good"])
    with vllm_standin(base=TINY_MODEL_ID) as vllm:
        client = LoRARuntimeClient(vllm.base_url.removesuffix("/v1"))  # /v1 is added
        assert client.load("policy", path) == "Success: LoRA adapter 'policy' added " \
            "successfully."
        card = next(c for c in client.models() if c["id"] == "policy")
        assert (card["parent"], card["root"]) == (TINY_MODEL_ID, path)
        with pytest.raises(RuntimeLoRAError, match="HTTP 400.*already been loaded") as err:
            client.load("policy", path)
        assert err.value.status == 400
        with pytest.raises(RuntimeLoRAError, match="HTTP 404.*No adapter found for /nope"):
            client.load("other", "/nope")
        with pytest.raises(RuntimeLoRAError, match="HTTP 404.*'ghost' cannot be found"):
            client.unload("ghost")
        assert client.unload("policy") == "Success: LoRA adapter 'policy' removed successfully."
        assert client.model_ids() == [TINY_MODEL_ID]
    assert vllm.calls[0] == ("POST /v1/load_lora_adapter",
                             {"lora_name": "policy", "lora_path": path})
    with vllm_standin(runtime_updates=False) as vllm, \
            pytest.raises(RuntimeLoRAError, match="VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"):
        LoRARuntimeClient(vllm.base_url).load("policy", path)
    with pytest.raises(RuntimeLoRAError) as err:
        LoRARuntimeClient(vllm.base_url, timeout_s=1).models()  # server gone
    assert err.value.status == 0


# --- pushing a new version ------------------------------------------------------------------

def _settings(tmp_path: Path, vllm: Any, first: Path, **adapters: Any) -> Any:
    return load_app_settings(
        home=tmp_path / "home",
        generator={"backend": "openai", "base_url": vllm.base_url, "model": TINY_MODEL_ID},
        adapters={"default": "policy", "paths": {"policy": str(first)}, **adapters},
        channels=[{"id": "CHR", "adapter": "hr"}, {"id": "CGEN"}])


def test_push_switches_the_registry_and_unloads_the_old_version(
        adapters_dir: dict[str, Path], tmp_path: Path) -> None:
    with vllm_standin(base=TINY_MODEL_ID) as vllm:
        vllm.loaded["policy"] = str(adapters_dir["good"])  # vllm serve --lora-modules
        registry = AdapterRegistry(_settings(tmp_path, vllm, adapters_dir["good"]))
        client = LoRARuntimeClient(vllm.base_url)
        assert registry.model_for("CGEN") == "policy"
        first = push_adapter(registry, client, "policy", adapters_dir["good2"],
                             base=TINY_MODEL_ID, metrics={"gold_cited": 0.9})
        assert (first.served_name, first.replaced) == ("policy@v2", "policy")
        assert set(vllm.loaded) == {"policy@v2"}
        assert registry.model_for("CGEN") == "policy@v2"
        assert registry.active("policy").metrics == {"gold_cited": 0.9}
        second = push_adapter(registry, client, "policy", adapters_dir["good"],
                              base=TINY_MODEL_ID)
        assert (second.served_name, second.replaced) == ("policy@v3", "policy@v2")
        assert set(vllm.loaded) == {"policy@v3"}
        assert [v.status for v in registry.versions("policy")] == ["active", "retired"]
        reply = OpenAICompatibleGenerator(vllm.base_url, TINY_MODEL_ID).with_model(
            registry.model_for("CGEN"))
        assert "".join(reply.generate("q", [NumberedPassage(1, "d", "T", "S", "x")])) == \
            "Served by policy@v3 [1]."


@pytest.mark.parametrize(("setup", "match"), [
    ({"max_lora_rank": 16}, "HTTP 500.*rank 64 is greater than max_lora_rank 16"),
    ({"hidden": {"policy@v3"}}, "does not list it"),
    ({"runtime_updates": False}, "VLLM_ALLOW_RUNTIME_LORA_UPDATING"),
])
def test_a_failed_push_keeps_the_old_version(adapters_dir: dict[str, Path], tmp_path: Path,
                                             setup: dict[str, Any], match: str) -> None:
    candidate = adapters_dir["rank64"] if "max_lora_rank" in setup else adapters_dir["good"]
    with vllm_standin(base=TINY_MODEL_ID) as vllm:
        registry = AdapterRegistry(_settings(tmp_path, vllm, adapters_dir["good"],
                                             max_lora_rank=64))
        client = LoRARuntimeClient(vllm.base_url)
        push_adapter(registry, client, "policy", adapters_dir["good2"], base=TINY_MODEL_ID)
        for key, value in setup.items():
            setattr(vllm, key, value)
        with pytest.raises(PushError, match=match) as err:
            push_adapter(registry, client, "policy", candidate, base=TINY_MODEL_ID)
        assert "channels still use 'policy@v2'" in str(err.value)
        assert registry.model_for("CGEN") == "policy@v2"
        assert set(vllm.loaded) == {"policy@v2"}  # the half-loaded version was unloaded


def test_push_refuses_what_validation_rejects(adapters_dir: dict[str, Path],
                                              tmp_path: Path) -> None:
    with vllm_standin(base=TINY_MODEL_ID) as vllm:
        registry = AdapterRegistry(_settings(tmp_path, vllm, adapters_dir["good"]))
        with pytest.raises(PushError, match="would be refused by vLLM.*DoRA"):
            push_adapter(registry, LoRARuntimeClient(vllm.base_url), "policy",
                         adapters_dir["dora"], base=TINY_MODEL_ID)
        with pytest.raises(PushError, match="No adapter found for /elsewhere"):
            push_adapter(registry, LoRARuntimeClient(vllm.base_url), "policy",
                         adapters_dir["good"], server_path="/elsewhere", base=TINY_MODEL_ID)
    assert not vllm.loaded and registry.versions() == []


def test_push_and_list_commands(adapters_dir: dict[str, Path], tmp_path: Path) -> None:
    folder = shutil.copytree(adapters_dir["good2"], tmp_path / "candidate")
    with vllm_standin(base=TINY_MODEL_ID) as vllm:
        config = tmp_path / "policybot.toml"
        config.write_text(f'[generator]\nbackend = "openai"\nbase_url = "{vllm.base_url}"\n'
                          f'model = "{TINY_MODEL_ID}"\n[adapters]\ndefault = "policy"\n'
                          f'[[channels]]\nid = "CHR"\nadapter = "hr"\n')
        run = CliRunner()
        refused = run.invoke(main, ["--config", str(config), "adapters", "push", "policy",
                                    str(folder)])
        assert refused.exit_code == 1 and "--promote" in refused.output
        (folder / "metrics.json").write_text(json.dumps(
            {"promoted": True, "metrics": {"gold_cited": 0.8}}))
        pushed = run.invoke(main, ["--config", str(config), "adapters", "push", "policy",
                                   str(folder)])
        assert pushed.exit_code == 0, pushed.output
        assert "now served as 'policy@v2'" in pushed.output and "added successfully" in \
            pushed.output
        listed = run.invoke(main, ["--config", str(config), "adapters", "list", "--json"])
        rows = {r["name"]: r for r in json.loads(listed.output)}
        assert rows["policy"]["served_as"] == "policy@v2" and rows["policy"]["listed"]
        assert rows["policy"]["metrics"] == {"gold_cited": 0.8} and rows["policy"]["default"]
        assert rows["hr"]["listed"] is False and rows["hr"]["channels"] == ["CHR"]
        text = run.invoke(main, ["--config", str(config), "adapters", "list"])
        assert "hr: hr from ? — NOT LISTED by the server" in text.output


def test_push_sends_the_api_key_vllm_requires_for_its_runtime_lora_endpoints(
        adapters_dir: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM started with a key (deploy/: VLLM_API_KEY from the Secret) refuses a push
    without it; with POLICYBOT_GENERATOR__API_KEY, the variable the manifests give the bot
    and the push job, the push goes through."""
    folder = shutil.copytree(adapters_dir["good2"], tmp_path / "candidate")
    (folder / "metrics.json").write_text(json.dumps({"promoted": True, "metrics": {}}))
    key = "0123456789abcdef0123456789abcdef"
    with vllm_standin(base=TINY_MODEL_ID, api_key=key) as vllm:
        config = tmp_path / "policybot.toml"
        config.write_text(f'[generator]\nbackend = "openai"\nbase_url = "{vllm.base_url}"\n'
                          f'model = "{TINY_MODEL_ID}"\n[adapters]\ndefault = "policy"\n')
        args = ["--config", str(config), "adapters", "push", "policy", str(folder)]
        monkeypatch.delenv("POLICYBOT_GENERATOR__API_KEY", raising=False)
        refused = CliRunner().invoke(main, args)
        assert refused.exit_code != 0 and vllm.refused and not vllm.loaded
        monkeypatch.setenv("POLICYBOT_GENERATOR__API_KEY", key)
        pushed = CliRunner().invoke(main, args)
        assert pushed.exit_code == 0, pushed.output
        assert "now served as" in pushed.output and len(vllm.loaded) == 1, vllm.loaded


# --- registry, health, model selection ---------------------------------------------------------

def test_channels_choose_adapters_and_missing_ones_fall_back(
        adapters_dir: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.lora.health")
    with vllm_standin(base=TINY_MODEL_ID) as vllm:
        settings = _settings(tmp_path, vllm, adapters_dir["good"])
        registry = AdapterRegistry(settings, cache_s=0)
        models = OpenAICompatibleGenerator(vllm.base_url, TINY_MODEL_ID)
        assert (registry.model_for("CHR"), registry.model_for("CGEN"),
                registry.model_for("CNEW")) == ("hr", "policy", "policy")  # unchecked: trust
        health = AdapterHealth(registry, models.list_models, interval_s=0)
        vllm.loaded.update({"hr": "/a/hr", "policy": "/a/policy"})
        assert health.check() and registry.model_for("CHR") == "hr"
        del vllm.loaded["hr"]
        health.check()
        health.check()
        assert registry.model_for("CHR") is None and registry.model_for("CGEN") == "policy"
        registry.activate("policy", "policy@v2", "/a/v2")  # pushed, then vLLM restarted
        health.check()
        assert registry.model_for("CGEN") == "policy"  # the startup adapter, not the base
        vllm.loaded["hr"] = "/a/hr"
        health.check()
        assert registry.model_for("CHR") == "hr"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("'hr'" in w and "base model" in w for w in warnings) == 1  # once per change
    assert any("using 'policy' as loaded at server start" in w for w in warnings)
    assert any("'hr' is now served as 'hr'" in r.getMessage() for r in caplog.records)


def test_a_down_server_leaves_the_choice_to_the_extractive_fallback(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_app_settings(home=tmp_path / "home", adapters={"default": "policy"})
    registry = AdapterRegistry(settings)
    calls = []

    def down() -> list[str]:
        calls.append(1)
        raise GeneratorUnavailable("connection refused")

    health = AdapterHealth(registry, down, interval_s=0.05)
    health.start()
    deadline = time.monotonic() + 10
    try:
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        health.stop()
    assert health.endpoint_up is False and registry.model_for(None) == "policy"
    assert sum("not answering" in r.getMessage() for r in caplog.records) == 1


def test_with_model_views_share_one_connection_pool() -> None:
    gen = OpenAICompatibleGenerator("http://127.0.0.1:9/v1", "base")
    view = gen.with_model("policy@v2")
    assert (view.model, gen.model, view._client) == ("policy@v2", "base", gen._client)
    assert gen.with_model("base") is gen
    view.close()
    assert not gen._client.is_closed
    gen.close()
    assert gen._client.is_closed

    class InProcess:  # a generator that does not declare selects_adapters
        generator = LocalTransformersGenerator("never-loaded")

    answerer = InProcess()
    assert with_adapter(answerer, "policy") is answerer  # type: ignore[arg-type]


# --- the promotion gate -----------------------------------------------------------------------

BASE = {"gold_cited": 0.80, "citation_precision": 0.90, "quote_integrity": 1.0,
        "support_rate": 0.85, "abstain_recall": 0.70, "false_abstain_rate": 0.10,
        "fallback_rate": 0.20, "latency_median_ms": 900.0}


@pytest.mark.parametrize(("change", "promotable", "worse"), [
    ({"gold_cited": 0.90}, True, []),
    ({"gold_cited": 0.79}, True, []),  # within the 0.02 tolerance
    ({"gold_cited": 0.70}, False, ["gold_cited"]),
    ({"false_abstain_rate": 0.20}, False, ["false_abstain_rate"]),  # lower is better
    ({"false_abstain_rate": 0.0, "fallback_rate": 0.5}, False, ["fallback_rate"]),
    ({"abstain_recall": None}, True, []),  # not computable: skipped
    ({"latency_median_ms": 5000.0}, True, []),  # not a gate metric
])
def test_gate_compares_against_the_adapter_in_service(change: dict[str, Any], promotable: bool,
                                                      worse: list[str]) -> None:
    verdict = compare(BASE | change, BASE, "policy@v2")
    assert verdict.promotable is promotable and verdict.worse == worse
    assert ("not promotable" in verdict.summary()) is not promotable
    assert "policy@v2" in verdict.summary()


def test_incumbent_metrics_come_from_the_registry_or_the_folder(
        adapters_dir: dict[str, Path], tmp_path: Path) -> None:
    from bot.lora.evaluation import in_service

    folder = shutil.copytree(adapters_dir["good"], tmp_path / "policy")
    settings = load_app_settings(home=tmp_path / "home",
                                 adapters={"default": "policy", "paths": {"policy": str(folder)}})
    registry = AdapterRegistry(settings)
    assert in_service(registry, None) == ("the base model", None)
    assert in_service(registry, "policy") == ("policy", None)
    (folder / "metrics.json").write_text(json.dumps({"metrics": {"gold_cited": 0.5}}))
    assert in_service(registry, "policy") == ("policy", {"gold_cited": 0.5})
    registry.activate("policy", "policy@v2", str(folder), {"gold_cited": 0.7})
    assert in_service(registry, "policy") == ("policy@v2", {"gold_cited": 0.7})
