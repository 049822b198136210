"""Each default lives once: code that has a default of its own takes it from the same
named constant as the settings field, and generator options mean the same on every backend."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from bot.answering import build_generator
from bot.settings import AdapterSettings, AnswerSettings, AppSettings, GeneratorSettings
from indexer.errors import ConfigError
from model.adapters.validate import validate_adapter
from model.answerer import Answerer
from model.generators.extractive import ExtractiveGenerator
from model.generators.local import LocalTransformersGenerator
from model.generators.openai_http import OpenAICompatibleGenerator
from model.passages import NumberedPassage
from model.support import SupportChecker

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILES = {ROOT / "indexer" / "config.py", ROOT / "bot" / "settings.py"}
PASSAGES = [NumberedPassage(n=1, doc_id="hb:leave.md", title="Leave", section="Annual leave",
                            text="Full-time employees get 25 days of annual leave a year.")]
QUESTION = "How many days of annual leave do I get?"


def _no_embedding(texts: list[str]) -> np.ndarray:
    raise AssertionError("defaults are read, nothing is embedded")


def test_a_default_answerer_uses_the_settings_defaults() -> None:
    extractive = ExtractiveGenerator(_no_embedding)
    answerer = Answerer(lambda q, a: [], extractive, extractive,
                        SupportChecker(_no_embedding))
    answer = AnswerSettings()
    assert answerer.support.threshold == answer.support_threshold
    assert answerer.extractive.max_sentences == answer.max_sentences
    assert answerer.extractive.max_words == answer.max_words


def test_generators_built_without_settings_use_the_settings_defaults(tmp_path: Path) -> None:
    """The answer-length cap once had three defaults (400 in the settings, 512 for the
    openai generator, 256 for the local one); every generator default is the settings'."""
    cfg = GeneratorSettings()
    openai = OpenAICompatibleGenerator("http://127.0.0.1:9/v1", "m")
    local = LocalTransformersGenerator(tmp_path / "model")  # nothing is loaded yet
    assert openai.options["max_tokens"] == local.max_new_tokens == cfg.options["max_tokens"]
    assert openai.deadline_s == local.deadline_s == cfg.deadline_s
    assert local.device == cfg.device
    assert openai.context_tokens == cfg.context_tokens
    assert openai.max_retries == cfg.max_retries
    timeout = openai._client.timeout
    assert (timeout.read, timeout.connect) == (cfg.timeout_s, cfg.connect_timeout_s)
    assert inspect.signature(validate_adapter).parameters["max_rank"].default \
        == AdapterSettings().max_lora_rank


def _settings_defaults() -> dict[str, set[Any]]:
    """Field name → the literal defaults it has in any settings model."""
    found: dict[str, set[Any]] = {}

    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            if isinstance(field.default, int | float | str) and \
                    not isinstance(field.default, bool):
                found.setdefault(name, set()).add(field.default)
            for sub in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(sub, type) and issubclass(sub, BaseModel):
                    walk(sub)

    from indexer.config import DirectorySourceConfig, GitSourceConfig, WebSourceConfig

    for model in (AppSettings, DirectorySourceConfig, GitSourceConfig, WebSourceConfig):
        walk(model)
    return found


def test_no_keyword_default_repeats_a_settings_default() -> None:
    """A parameter named like a setting may not restate its default as a literal: it
    takes the value from settings, or the named constant the setting uses."""
    defaults = _settings_defaults()
    repeated = []
    for path in sorted(ROOT.glob("[bim]*/**/*.py")):
        if path.parts[len(ROOT.parts)] not in ("bot", "indexer", "model") \
                or path in SETTINGS_FILES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = [*zip(positional[len(positional) - len(args.defaults):], args.defaults,
                          strict=True),
                     *((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                       if d is not None)]
            for arg, default in pairs:
                if isinstance(default, ast.Constant) and not isinstance(default.value, bool) \
                        and default.value in defaults.get(arg.arg, ()):
                    repeated.append(f"{path.relative_to(ROOT)}:{default.lineno} "
                                    f"{arg.arg}={default.value!r}")
    assert not repeated, "defaults written twice:\n" + "\n".join(repeated)


# -- generator options per backend -------------------------------------------------------

@pytest.mark.parametrize("option", ["seed", "stop", "presence_penalty", "frequency_penalty"])
def test_the_local_backend_refuses_options_it_cannot_apply(
        tmp_path: Path, option: str) -> None:
    from bot.settings import load_app_settings

    value = {"seed": 7, "stop": "\n\n"}.get(option, 0.5)
    config = tmp_path / "policybot.toml"
    config.write_text(f'[generator]\nbackend = "local"\nmodel_path = "{tmp_path}"\n'
                      f'options = {{ max_tokens = 50, {option} = {value!r} }}\n'
                      .replace("'", '"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"'{option}' is not supported by the local "
                                          "backend; supported: max_tokens"):
        load_app_settings(config)
    # the openai backend applies it, so the same options are valid there
    assert load_app_settings(config, generator={
        "backend": "openai", "options": {option: value}}).generator.options[option] == value


def test_a_copied_local_settings_with_unsupported_options_fails_when_built(
        tmp_path: Path) -> None:
    """The adapter gate copies the production settings (``model_copy`` skips validators):
    the local generator refuses what it cannot apply rather than decode otherwise."""
    production = GeneratorSettings(backend="openai", base_url="http://vllm:8000/v1",
                                   model="policy", options={"max_tokens": 64, "seed": 1})
    local = production.model_copy(update={"backend": "local", "model_path": tmp_path})
    with pytest.raises(ConfigError, match="'seed' is not supported by the local backend"):
        build_generator(local, ExtractiveGenerator(_no_embedding))


def _local_text(model_dir: Path, **options: Any) -> str:
    cfg = GeneratorSettings(backend="local", model_path=model_dir, options=options)
    generator = build_generator(cfg, ExtractiveGenerator(_no_embedding))
    assert isinstance(generator, LocalTransformersGenerator)
    return "".join(generator.generate(QUESTION, PASSAGES))


@pytest.mark.slow
def test_the_local_backend_decodes_with_the_configured_max_tokens(tiny_model_dir: Path
                                                                   ) -> None:
    short = _local_text(tiny_model_dir, max_tokens=3, temperature=0)
    longer = _local_text(tiny_model_dir, max_tokens=12, temperature=0)
    assert short and longer.startswith(short) and len(longer) > len(short)


@pytest.mark.slow
def test_the_local_backend_samples_when_the_settings_say_so(tiny_model_dir: Path) -> None:
    sampled = LocalTransformersGenerator(tiny_model_dir, options={
        "max_tokens": 4, "temperature": 1.5, "top_p": 0.9, "repetition_penalty": 1.2})
    assert sampled.decoding() == {"do_sample": True, "temperature": 1.5, "top_p": 0.9,
                                  "repetition_penalty": 1.2}
    assert "".join(sampled.generate(QUESTION, PASSAGES))  # transformers takes them
    greedy = LocalTransformersGenerator(tiny_model_dir, options={"temperature": 0,
                                                                 "top_p": 0.9})
    assert greedy.decoding() == {"do_sample": False}
    # the production default (near-greedy sampling) is what the local backend now runs
    default = build_generator(GeneratorSettings(backend="local", model_path=tiny_model_dir),
                              ExtractiveGenerator(_no_embedding))
    assert default.decoding()["temperature"] == GeneratorSettings().options["temperature"]
