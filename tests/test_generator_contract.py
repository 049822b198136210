"""The contract every generator passes: one suite, run against each of them.

- extractive: the default, over the real embedding model;
- openai: the OpenAI-compatible client against a real `transformers serve` serving the
  tiny Llama the tests build (tests/tiny_model.py);
- local: the same tiny Llama loaded in this process.

Each declares its capabilities as class attributes (model/generators/base.py); the tests
hold it to what it declares, and to refusing what it does not. The tiny model's text is
gibberish, so nothing here checks what an answer says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from model.generators.base import (
    CapabilityMissing,
    Generator,
    GeneratorError,
    GeneratorUnavailable,
)
from model.generators.extractive import ExtractiveGenerator
from model.generators.local import LocalTransformersGenerator
from model.generators.openai_http import OpenAICompatibleGenerator
from model.passages import NumberedPassage, Turn
from tests.llm_fixtures import free_port
from tests.tiny_model import TINY_MODEL_ID

QUESTION = "How many days of annual leave do I get?"
PASSAGES = [
    NumberedPassage(1, "leave", "Leave Policy", "Annual leave",
                    "Employees may take up to 25 days of annual leave per year. "
                    "Requests go to your manager two weeks ahead."),
    NumberedPassage(2, "travel", "Travel Policy", "Booking",
                    "Employees must book travel through the approved agency."),
]
HISTORY = [Turn("Who approves leave?", "Your manager approves leave requests [1].")]
CAPABILITIES = ("streams", "uses_llm", "lists_models", "selects_adapters")
FAST = {"timeout_s": 5.0, "connect_timeout_s": 0.5, "backoff_s": 0.05, "max_retries": 1}


def _openai(base_url: str, model: str = TINY_MODEL_ID) -> OpenAICompatibleGenerator:
    return OpenAICompatibleGenerator(base_url, model, options={"max_tokens": 8,
                                                               "temperature": 0},
                                     context_tokens=512, **FAST)  # type: ignore[arg-type]


def _extractive(request: pytest.FixtureRequest) -> Generator:
    embedder = request.getfixturevalue("embedder")
    return ExtractiveGenerator(lambda texts: embedder.embed(texts, progress=False))


# kind → (working generator, one whose backend cannot answer; None: it has no backend)
FACTORIES: dict[str, tuple[Callable[[pytest.FixtureRequest], Generator],
                           Callable[[pytest.FixtureRequest], Generator] | None]] = {
    "extractive": (_extractive, None),
    "openai": (lambda r: _openai(r.getfixturevalue("llm_server")),
               lambda r: _openai(f"http://127.0.0.1:{free_port()}/v1")),
    "local": (lambda r: LocalTransformersGenerator(r.getfixturevalue("tiny_model_dir"),
                                                   options={"max_tokens": 8}),
              lambda r: LocalTransformersGenerator(
                  r.getfixturevalue("tmp_path") / "no-model")),
}


@pytest.fixture(params=list(FACTORIES))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def generator(kind: str, request: pytest.FixtureRequest) -> Iterator[Generator]:
    gen = FACTORIES[kind][0](request)
    yield gen
    gen.close()


def test_every_generator_backend_is_in_the_suite() -> None:
    from bot.settings import GeneratorSettings

    backends = GeneratorSettings.model_fields["backend"].annotation.__args__  # type: ignore
    assert set(backends) == set(FACTORIES)


def test_declares_every_capability_on_its_class(generator: Generator) -> None:
    assert isinstance(generator, Generator)
    assert isinstance(generator.name, str) and generator.name
    for capability in CAPABILITIES:
        assert isinstance(getattr(type(generator), capability), bool), capability


def test_generates_text_in_as_many_pieces_as_declared(generator: Generator) -> None:
    pieces = list(generator.generate(QUESTION, PASSAGES))
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).strip()
    if generator.streams:
        assert len(pieces) > 1  # the tiny tokenizer has one token per word
    else:
        assert len(pieces) == 1


def test_takes_the_thread_so_far(generator: Generator) -> None:
    assert "".join(generator.generate(QUESTION, PASSAGES, HISTORY)).strip()


def test_lists_models_when_declared_and_refuses_otherwise(generator: Generator) -> None:
    if generator.lists_models:
        assert TINY_MODEL_ID in generator.list_models()
    else:
        with pytest.raises(CapabilityMissing, match="cannot list models"):
            generator.list_models()


def test_selects_an_adapter_when_declared_and_refuses_otherwise(generator: Generator) -> None:
    if not generator.selects_adapters:
        with pytest.raises(CapabilityMissing, match="cannot select"):
            generator.with_model("policy-adapter")
        return
    view = generator.with_model("no-such-adapter")
    assert type(view) is type(generator) and view is not generator
    # The server is asked for that model: here it refuses, quoting its reason.
    with pytest.raises(GeneratorError, match="no-such-adapter"):
        list(view.generate(QUESTION, PASSAGES))
    view.close()  # a view's close leaves the shared connections to the original
    assert "".join(generator.generate(QUESTION, PASSAGES)).strip()


def test_a_backend_that_cannot_answer_is_unavailable(kind: str, generator: Generator,
                                                     request: pytest.FixtureRequest) -> None:
    broken_factory = FACTORIES[kind][1]
    if broken_factory is None:
        # Without a backend nothing can go away; the answerer has nothing to fall back
        # from, which it knows because the generator is not an LLM.
        assert not generator.uses_llm
        return
    broken = broken_factory(request)
    try:
        with pytest.raises(GeneratorUnavailable):
            list(broken.generate(QUESTION, PASSAGES))
    finally:
        broken.close()


def test_close_can_be_called_twice(kind: str, request: pytest.FixtureRequest) -> None:
    gen: Any = FACTORIES[kind][0](request)
    gen.close()
    gen.close()


def test_capability_missing_is_not_taken_for_a_backend_failure() -> None:
    # The answerer falls back on GeneratorError/GeneratorUnavailable; a caller that uses
    # a capability the generator lacks has a bug, which must not be hidden as a fallback.
    assert not issubclass(CapabilityMissing, GeneratorError | GeneratorUnavailable)

