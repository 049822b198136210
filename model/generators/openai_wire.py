"""The OpenAI chat-completions wire format: request options, SSE events, error bodies.

Kept apart from the HTTP client so each rule is small and testable alone. Options are
checked when the generator is built, so a typo in the config fails at startup rather than
as a 400 on the first employee's question.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from typing import Any

from model.generators.base import GeneratorError
from model.generators.defaults import DEFAULT_MAX_TOKENS


def _number(lo: float, hi: float, lo_open: bool = False) -> Any:
    def check(v: Any) -> bool:
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        return ok and (lo < v if lo_open else lo <= v) and v <= hi
    return check


def _int(lo: int, hi: int) -> Any:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _stop(v: Any) -> bool:
    if isinstance(v, str):
        return bool(v)
    return isinstance(v, list) and 0 < len(v) <= 4 and all(isinstance(s, str) and s for s in v)


# name -> (check, what a valid value is). repetition_penalty is a vLLM extension: a strict
# OpenAI server (or `transformers serve`) rejects it with a 4xx, reported as GeneratorError.
OPTION_RULES: dict[str, tuple[Any, str]] = {
    "max_tokens": (_int(1, 32768), "an integer from 1 to 32768"),
    "temperature": (_number(0, 2), "a number from 0 to 2"),
    "top_p": (_number(0, 1, lo_open=True), "a number in (0, 1]"),
    "stop": (_stop, "a non-empty string or a list of 1 to 4 non-empty strings"),
    "seed": (_int(-(2**63), 2**63 - 1), "an integer"),
    "presence_penalty": (_number(-2, 2), "a number from -2 to 2"),
    "frequency_penalty": (_number(-2, 2), "a number from -2 to 2"),
    "repetition_penalty": (_number(0, 2, lo_open=True), "a number in (0, 2]"),
}


def validate_options(options: dict[str, Any] | None,
                     supported: Collection[str] = tuple(OPTION_RULES),
                     backend: str = "openai") -> dict[str, Any]:
    """A copy of ``options`` with ``max_tokens`` set; ValueError names the bad key.

    ``supported`` is the subset a backend honours (the local backend cannot apply every
    server-side option): an option outside it is refused rather than silently ignored,
    so a backend never decodes otherwise than its configuration says."""
    opts = dict(options or {})
    allowed = ", ".join(sorted(supported))
    for key, value in opts.items():
        if key in OPTION_RULES and key not in supported:
            raise ValueError(f"generation option {key!r} is not supported by the {backend} "
                             f"backend; supported: {allowed}")
        if key not in OPTION_RULES:
            raise ValueError(f"unknown generation option {key!r}; allowed: {allowed}")
        check, expected = OPTION_RULES[key]
        if not check(value):
            raise ValueError(f"generation option {key!r} must be {expected}, got {value!r}")
    opts.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    return opts


def server_message(body: bytes, limit: int = 300) -> str:
    """The human part of an error body: vLLM/OpenAI ``error.message``, FastAPI ``detail``."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:limit] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:limit]
        for key in ("message", "detail", "error"):
            if data.get(key):
                value = data[key]
                return (value if isinstance(value, str) else json.dumps(value))[:limit]
    return text[:limit]


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The payloads of ``data:`` fields, one per event, until ``[DONE]`` or the end.

    Comments (``:``), ``event:``/``id:`` fields and blank separators are skipped; a
    multi-line ``data`` event is joined with newlines, as the SSE spec says.
    """
    buffer: list[str] = []
    for line in lines:
        if line.startswith("data:"):
            buffer.append(line[5:].removeprefix(" "))
        elif not line.strip() and buffer:
            payload = "\n".join(buffer)
            buffer = []
            if payload.strip() == "[DONE]":
                return
            yield payload
    if buffer and "\n".join(buffer).strip() != "[DONE]":
        yield "\n".join(buffer)


def delta_content(payload: str) -> str:
    """The text of one chat-completion chunk ('' for role-only or finish chunks)."""
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise GeneratorError(f"malformed event from the LLM server: {payload[:80]!r}") from exc
    if not isinstance(event, dict):
        raise GeneratorError(f"unexpected event from the LLM server: {payload[:80]!r}")
    if "error" in event:
        err = event["error"]
        message = err.get("message", err) if isinstance(err, dict) else err
        raise GeneratorError(f"LLM server reported an error mid-stream: {message}")
    choices = event.get("choices") or []
    if not choices:  # e.g. a usage-only chunk
        return ""
    delta = choices[0].get("delta") or choices[0].get("message") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""
