"""Answers from any OpenAI-compatible chat server (vLLM in production), streamed over SSE.

Failure policy, so the caller can always fall back to the extractive answer:
- connect errors, timeouts, 429 and 5xx are retried with exponential backoff, but only
  before the first token: once text reached the user, a retry would repeat it;
- "cannot answer now" (down, overloaded, timed out, broken mid-stream) is
  GeneratorUnavailable; "answered with something unusable" (4xx such as an unknown
  model or LoRA adapter, malformed events, an empty answer) is GeneratorError.
The API key is sent only as a header and scrubbed from every message we log or raise.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from model.generators.base import Generator, GeneratorError, GeneratorUnavailable
from model.generators.deadline import within
from model.generators.defaults import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_CONTEXT_TOKENS,
    DEFAULT_DEADLINE_S,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
)
from model.generators.openai_wire import delta_content, server_message, sse_data, validate_options
from model.passages import NumberedPassage, Turn
from model.prompts import SYSTEM_PROMPT, build_messages

log = logging.getLogger(__name__)

PROMPT_MARGIN_TOKENS = 48  # chat-template markup and the error of the approximate count


def approx_tokens(text: str) -> int:
    """A deliberately high token estimate (3 characters a token): we never see the tokenizer."""
    return len(text) // 3 + 1


def fit_messages(question: str, passages: Sequence[NumberedPassage], history: Sequence[Turn],
                 context_tokens: int, max_tokens: int) -> list[dict[str, str]]:
    """The chat messages sent for a question: passages trimmed to what a ``context_tokens``
    window leaves after everything else and ``max_tokens`` of answer.

    A function of its own so adapter training data is built with exactly the prompt this
    generator sends at inference."""
    fixed = build_messages(question, [], history)
    overhead = sum(approx_tokens(m["content"]) + 4 for m in fixed) + PROMPT_MARGIN_TOKENS
    budget = max(64, context_tokens - max_tokens - overhead)
    return build_messages(question, passages, history, budget, approx_tokens)


class OpenAICompatibleGenerator(Generator):
    """Streams ``POST {base_url}/chat/completions``.

    ``base_url`` must include the API prefix, as OpenAI clients expect
    (``http://vllm:8000/v1``). ``model`` is the served model name, or a LoRA adapter's
    name to use that adapter. ``timeout_s`` bounds every wait for bytes, the first token
    included; ``deadline_s`` bounds a whole generation, retries included, because a server
    trickling a byte a second never lets a read time out (past it: GeneratorDeadline);
    ``context_tokens`` is the server's context window, used to trim passages.
    """

    name = "openai"
    streams = True
    uses_llm = True
    lists_models = True
    selects_adapters = True  # vLLM picks a LoRA adapter by the request's model name

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S,
                 connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                 max_retries: int = DEFAULT_MAX_RETRIES, backoff_s: float = 0.5,
                 options: dict[str, Any] | None = None,
                 context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL ending in /v1, got {base_url!r}")
        if not model:
            raise ValueError("model must name the served model or LoRA adapter")
        if max_retries < 0 or backoff_s < 0 or min(timeout_s, connect_timeout_s, deadline_s) <= 0:
            raise ValueError("timeouts must be positive; max_retries and backoff_s >= 0")
        self.deadline_s = deadline_s
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.options = validate_options(options)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.context_tokens = context_tokens
        if context_tokens - self.options["max_tokens"] - approx_tokens(SYSTEM_PROMPT) < 128:
            raise ValueError(f"context_tokens={context_tokens} leaves no room for passages "
                             f"with max_tokens={self.options['max_tokens']}")
        self._api_key = api_key or None
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s))
        self._owns_client = True

    def __repr__(self) -> str:
        return f"OpenAICompatibleGenerator(base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        """Release pooled connections (views made by :meth:`with_model` share them)."""
        if self._owns_client:
            self._client.close()

    def with_model(self, name: str) -> OpenAICompatibleGenerator:
        """The same server, options and connection pool, asking for model ``name``.

        vLLM selects a LoRA adapter by the request's ``model``, so one generator per
        adapter would only multiply connection pools; a view costs a shallow copy."""
        if not name:
            raise ValueError("model must name the served model or LoRA adapter")
        if name == self.model:
            return self
        view = copy.copy(self)
        view.model = name
        view._owns_client = False
        return view

    def generate(self, question: str, passages: Sequence[NumberedPassage],
                 history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield answer pieces as the server streams them."""
        payload = {"model": self.model, "messages": self._messages(question, passages, history),
                   "stream": True, **self.options}
        yield from within(self._stream(payload), self.deadline_s, f"LLM server at {self.base_url}")

    def list_models(self) -> list[str]:
        """Model ids the server offers (LoRA adapters appear here once vLLM loaded them)."""
        try:
            resp = self._client.get(f"{self.base_url}/models", headers=self._headers())
        except httpx.TransportError as exc:
            raise GeneratorUnavailable(self._scrub(f"{self.base_url}/models: {_describe(exc)}")) \
                from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise GeneratorUnavailable(f"{self.base_url}/models: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise GeneratorError(self._scrub(
                f"{self.base_url}/models: HTTP {resp.status_code}: {server_message(resp.content)}"))
        try:
            return [str(m["id"]) for m in resp.json()["data"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise GeneratorError(f"{self.base_url}/models: not an OpenAI model list") from exc

    def health(self) -> bool:
        """Whether the server answers its model list now."""
        try:
            self.list_models()
        except (GeneratorUnavailable, GeneratorError):
            return False
        return True

    def _messages(self, question: str, passages: Sequence[NumberedPassage],
                  history: Sequence[Turn]) -> list[dict[str, str]]:
        """Passages trimmed to what the context window leaves after everything else."""
        return fit_messages(question, passages, history, self.context_tokens,
                            self.options["max_tokens"])

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _scrub(self, text: str) -> str:
        """Never let the key out, even if a server or proxy echoes it back."""
        return text.replace(self._api_key, "***") if self._api_key else text

    def _stream(self, payload: dict[str, Any]) -> Iterator[str]:
        url = f"{self.base_url}/chat/completions"
        attempts = self.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.warning("LLM request failed (%s); retry %d/%d in %.2fs",
                            reason, attempt, self.max_retries, delay)
                time.sleep(delay)
            started = False
            try:
                with self._client.stream("POST", url, json=payload,
                                         headers=self._headers()) as resp:
                    if resp.status_code == 429 or resp.status_code >= 500:
                        reason = self._scrub(
                            f"HTTP {resp.status_code}: {server_message(resp.read())}")
                        continue
                    if resp.status_code >= 400:
                        raise GeneratorError(self._refusal(resp.status_code, resp.read()))
                    # A server that ignores stream=true answers one JSON completion.
                    events = [resp.read().decode("utf-8", "replace")] if "json" in \
                        resp.headers.get("content-type", "") else sse_data(resp.iter_lines())
                    for data in events:
                        piece = delta_content(data)
                        if piece:
                            started = True
                            yield piece
            except httpx.TransportError as exc:
                if started:
                    raise GeneratorUnavailable(self._scrub(
                        f"LLM stream broke after the answer began: {_describe(exc)}")) from exc
                reason = self._scrub(_describe(exc))
                continue
            if not started:
                raise GeneratorError(f"LLM server at {self.base_url} streamed no content")
            return
        raise GeneratorUnavailable(
            f"LLM server at {self.base_url} unavailable after {attempts} attempt(s): {reason}")

    def _refusal(self, status: int, body: bytes) -> str:
        hint = ""
        if status == 404 and not self.base_url.endswith("/v1"):
            hint = " (base_url usually ends with /v1)"
        return self._scrub(f"LLM server refused the request for model {self.model!r} "
                           f"(HTTP {status}): {server_message(body)}{hint}")


def _describe(exc: httpx.TransportError) -> str:
    """A short reason: the exception's class name and message, not its request."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
