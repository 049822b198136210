"""Answers from a causal LM loaded in this process with transformers (+ an optional LoRA).

For development, tests and small deployments without a vLLM server. torch, transformers
and peft are imported on first use, so importing ``model`` stays cheap for the bot and
the indexer. ``generate`` runs in a background thread and pieces are read from a
TextIteratorStreamer, so the caller sees text as it is produced.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from model.generators.base import (
    Generator,
    GeneratorDeadline,
    GeneratorError,
    GeneratorUnavailable,
)
from model.generators.defaults import DEFAULT_CONTEXT_TOKENS, DEFAULT_DEADLINE_S, DEFAULT_DEVICE
from model.generators.openai_wire import validate_options
from model.passages import NumberedPassage, Turn
from model.prompts import build_messages

STREAM_TIMEOUT_S = 300.0  # a wedged generation thread must not hang the caller forever
# The decoding options transformers' generate() applies as an OpenAI server would; the
# others (seed, stop, presence/frequency penalties) are refused, not silently ignored.
LOCAL_OPTIONS = ("max_tokens", "temperature", "top_p", "repetition_penalty")


def local_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """``options`` checked for this backend, ``max_tokens`` set; ValueError names a bad key."""
    return validate_options(options, LOCAL_OPTIONS, backend="local")


class LocalTransformersGenerator(Generator):
    """``model_path``: a saved model folder (or hub id available offline).

    ``adapter_path``: a peft LoRA adapter folder applied on top. ``options`` are the
    ``[generator] options`` (see :data:`LOCAL_OPTIONS`): ``max_tokens`` caps the answer,
    ``temperature`` 0 or absent means greedy decoding, so the same question gives the same
    answer; ``top_p`` applies when sampling. ``deadline_s`` bounds one
    generation by the wall clock (loading the model is not counted); past it generation is
    stopped and GeneratorDeadline raised.
    """

    name = "local"
    streams = True
    uses_llm = True
    lists_models = False  # one model, loaded from model_path
    selects_adapters = False  # its adapter is fixed at construction (adapter_path)

    def __init__(self, model_path: str | Path, adapter_path: str | Path | None = None,
                 device: str = DEFAULT_DEVICE, options: dict[str, Any] | None = None,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        if deadline_s <= 0:
            raise ValueError("deadline_s must be positive")
        self.deadline_s = deadline_s
        self.options = local_options(options)
        self.model_path = str(model_path)
        self.adapter_path = str(adapter_path) if adapter_path else None
        self.device = device
        self.max_new_tokens = int(self.options["max_tokens"])
        self.temperature = float(self.options.get("temperature", 0.0))
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def __repr__(self) -> str:
        return (f"LocalTransformersGenerator(model_path={self.model_path!r}, "
                f"adapter_path={self.adapter_path!r})")

    def decoding(self) -> dict[str, Any]:
        """The keyword arguments ``options`` become for ``generate()``, besides the length."""
        kwargs: dict[str, Any] = {"do_sample": self.temperature > 0}
        if self.temperature > 0:
            kwargs["temperature"] = self.temperature
            if "top_p" in self.options:
                kwargs["top_p"] = self.options["top_p"]
        if "repetition_penalty" in self.options:
            kwargs["repetition_penalty"] = self.options["repetition_penalty"]
        return kwargs

    def load(self) -> tuple[Any, Any]:
        """(tokenizer, model), loaded once; concurrent first calls wait for one load."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def _load(self) -> tuple[Any, Any]:
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self.model_path)
            model = AutoModelForCausalLM.from_pretrained(self.model_path)
            if self.adapter_path:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, self.adapter_path)
            model = model.to(self.device).eval()
        except (OSError, ValueError, ImportError, RuntimeError) as exc:
            raise GeneratorUnavailable(f"cannot load local model {self.model_path!r}: "
                                       f"{type(exc).__name__}: {exc}") from exc
        return tokenizer, model

    def _context_tokens(self, tokenizer: Any, model: Any) -> int:
        """The smaller of the model's and tokenizer's limits (tokenizers may say 1e30)."""
        limits = [x for x in (getattr(model.config, "max_position_embeddings", None),
                              getattr(tokenizer, "model_max_length", None))
                  if isinstance(x, int) and 0 < x < 10**7]
        return min(limits, default=DEFAULT_CONTEXT_TOKENS)

    def _prompt_ids(self, tokenizer: Any, model: Any, question: str,
                    passages: Sequence[NumberedPassage], history: Sequence[Turn]) -> Any:
        """The chat-templated prompt, passages trimmed with the model's own tokenizer."""
        def count(text: str) -> int:
            return len(tokenizer.encode(text, add_special_tokens=False))

        fixed = build_messages(question, [], history)
        overhead = sum(count(m["content"]) + 8 for m in fixed) + 16
        budget = max(32, self._context_tokens(tokenizer, model) - self.max_new_tokens - overhead)
        messages = build_messages(question, passages, history, budget, count)
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                             return_tensors="pt", return_dict=True)

    def generate(self, question: str, passages: Sequence[NumberedPassage],
                 history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield decoded pieces (roughly words) while generation runs in a thread."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        tokenizer, model = self.load()
        inputs = self._prompt_ids(tokenizer, model, question, passages, history).to(self.device)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=STREAM_TIMEOUT_S)
        abandoned = threading.Event()  # the caller stopped reading: stop generating

        class _Abandoned(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                return torch.full((input_ids.shape[0],), abandoned.is_set(),
                                  dtype=torch.bool, device=input_ids.device)

        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None \
            else tokenizer.eos_token_id
        kwargs: dict[str, Any] = dict(**inputs, streamer=streamer, pad_token_id=pad,
                                      max_new_tokens=self.max_new_tokens,
                                      stopping_criteria=StoppingCriteriaList([_Abandoned()]))
        kwargs.update(self.decoding())
        failure: list[BaseException] = []

        def run() -> None:
            try:
                model.generate(**kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(exc)
                streamer.end()  # unblock the reader; generate() did not reach its own end()

        thread = threading.Thread(target=run, name="local-generate", daemon=True)
        thread.start()
        produced = False
        end = time.monotonic() + self.deadline_s
        try:
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    raise GeneratorDeadline(f"local generation passed its {self.deadline_s:g}s "
                                            "deadline")
                streamer.timeout = min(STREAM_TIMEOUT_S, left)  # read at each next()
                try:
                    piece = next(streamer)
                except StopIteration:
                    break
                except queue.Empty as exc:
                    if time.monotonic() >= end:
                        raise GeneratorDeadline(f"local generation passed its "
                                                f"{self.deadline_s:g}s deadline") from exc
                    raise GeneratorUnavailable(
                        f"local generation stalled for {STREAM_TIMEOUT_S:.0f}s") from exc
                if piece:
                    produced = True
                    yield piece
        finally:
            abandoned.set()
        thread.join()
        if failure:
            raise GeneratorError(f"local generation failed: {failure[0]}") from failure[0]
        if not produced:
            raise GeneratorError("local model produced no text")
