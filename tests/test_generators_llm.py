"""LLM generators against a real `transformers serve`, a scripted fake, and in-process.

The tiny model's text is gibberish: these tests check protocol and behaviour (streaming,
options, retries, error types, secrets, adapters), never what the answer says.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.generators.base import GeneratorDeadline, GeneratorError, GeneratorUnavailable
from model.generators.local import LocalTransformersGenerator
from model.generators.openai_http import OpenAICompatibleGenerator
from model.passages import NumberedPassage
from tests.fake_openai import Reply, fake_llm, hang_up_server, sse
from tests.tiny_model import TINY_MODEL_ID

QUESTION = "How many days of annual leave do I get?"
PASSAGES = [
    NumberedPassage(1, "leave", "Leave Policy", "Annual leave",
                    "Employees may take up to 25 days per year. " * 3),
    NumberedPassage(2, "travel", "Travel Policy", "Booking",
                    "Employees must book travel through the approved agency. " * 3),
]
FAST = {"timeout_s": 2.0, "connect_timeout_s": 0.5, "backoff_s": 0.05}


def openai(base_url: str, model: str = TINY_MODEL_ID, **kw: object) -> OpenAICompatibleGenerator:
    kw = {**FAST, "options": {"max_tokens": 12, "temperature": 0}, "context_tokens": 512, **kw}
    return OpenAICompatibleGenerator(base_url, model, **kw)  # type: ignore[arg-type]


# --- against a real transformers serve --------------------------------------------------

def test_streams_several_pieces(llm_server: str) -> None:
    pieces = list(openai(llm_server).generate(QUESTION, PASSAGES))
    assert len(pieces) > 1
    assert "".join(pieces).strip()


def test_max_tokens_is_respected(llm_server: str) -> None:
    gen = openai(llm_server, options={"max_tokens": 5, "temperature": 0})
    text = "".join(gen.generate(QUESTION, PASSAGES))
    assert 0 < len(text.split()) <= 5  # the tiny tokenizer has one token per word


def test_lists_the_served_model(llm_server: str) -> None:
    gen = openai(llm_server)
    assert TINY_MODEL_ID in gen.list_models()
    assert gen.health()


def test_unknown_model_is_an_error_with_the_servers_message(llm_server: str) -> None:
    with pytest.raises(GeneratorError, match=r"HTTP 400.*(pinned|no-such-adapter)"):
        list(openai(llm_server, model="no-such-adapter").generate(QUESTION, PASSAGES))


# --- construction -----------------------------------------------------------------------

@pytest.mark.parametrize(("options", "match"), [
    ({"max_token": 5}, r"'max_token'.*allowed:.*max_tokens.*temperature"),
    ({"temperature": 3}, r"'temperature' must be"),
    ({"top_p": 0}, r"'top_p' must be"),
    ({"max_tokens": True}, r"'max_tokens' must be"),
    ({"stop": ["a", ""]}, r"'stop' must be"),
])
def test_bad_options_fail_at_construction(options: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        OpenAICompatibleGenerator("http://127.0.0.1:9/v1", "m", options=options)


# --- against a scripted server ------------------------------------------------------------

def test_request_carries_model_options_and_trimmed_passages() -> None:
    many = [NumberedPassage(n, f"d{n}", f"Doc {n}", "S", "word " * 150) for n in range(1, 9)]
    with fake_llm(Reply(body=sse("Hi", " there"))) as fake:
        gen = openai(fake.base_url, model="policy-lora", options={"max_tokens": 64, "seed": 7})
        assert "".join(gen.generate(QUESTION, many)) == "Hi there"
    sent = fake.requests[0].json
    assert (sent["model"], sent["stream"], sent["max_tokens"], sent["seed"]) == \
        ("policy-lora", True, 64, 7)
    prompt = sent["messages"][-1]["content"]
    assert "[1] Doc 1" in prompt and "[8] Doc 8" not in prompt and QUESTION in prompt


@pytest.mark.parametrize("status", [503, 429])
def test_retries_before_the_first_token(status: int) -> None:
    with fake_llm(Reply(status), Reply(status), Reply(body=sse("a", "b"))) as fake:
        assert list(openai(fake.base_url).generate(QUESTION, PASSAGES)) == ["a", "b"]
    assert len(fake.requests) == 3


def test_exhausted_retries_are_unavailable() -> None:
    with fake_llm(Reply(500, b'{"error": {"message": "engine dead"}}', ctype="x")) as fake, \
            pytest.raises(GeneratorUnavailable, match="3 attempt.*engine dead"):
        list(openai(fake.base_url).generate(QUESTION, PASSAGES))
    assert len(fake.requests) == 3


def test_closed_port_is_unavailable_quickly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(GeneratorUnavailable, match="3 attempt"):
        list(openai(f"http://127.0.0.1:{port}/v1").generate(QUESTION, PASSAGES))
    assert time.monotonic() - start < 5


def test_server_hanging_up_is_retried_then_unavailable() -> None:
    with hang_up_server() as (url, connections), pytest.raises(GeneratorUnavailable):
        list(openai(url).generate(QUESTION, PASSAGES))
    assert connections[0] == 3


def test_slow_server_times_out_as_unavailable() -> None:
    with fake_llm(Reply(delay=1.0, body=sse("late"))) as fake:
        start = time.monotonic()
        with pytest.raises(GeneratorUnavailable, match="Timeout"):
            list(openai(fake.base_url, timeout_s=0.3, max_retries=1).generate(QUESTION, PASSAGES))
        assert time.monotonic() - start < 2.5
        assert len(fake.requests) == 2


@contextlib.contextmanager
def byte_trickler(body: bytes, gap_s: float) -> Iterator[str]:
    """An SSE server on 127.0.0.1 that sends its body one byte every ``gap_s`` seconds:
    no read ever times out and no line is ever complete for long."""
    sock = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"Connection: close\r\n\r\n")
            for byte in body:
                if stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(gap_s)

    def loop() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed at the end of the test
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        stop.set()
        sock.close()


def test_a_server_trickling_bytes_is_cut_off_at_the_generation_deadline() -> None:
    """One byte every 2 ms (28 s for the whole body) never trips the 2 s read timeout; the
    wall-clock deadline still ends the generation on time, pieces that arrived before it
    included."""
    with byte_trickler(sse(*["word "] * 200), gap_s=0.002) as url:
        gen = openai(url, deadline_s=2.0, max_retries=0)
        pieces: list[str] = []
        start = time.monotonic()
        with pytest.raises(GeneratorDeadline, match="deadline"):
            for piece in gen.generate(QUESTION, PASSAGES):
                pieces.append(piece)
        elapsed = time.monotonic() - start
    assert 1.9 <= elapsed < 4.0, elapsed  # the body alone would take 28 s
    assert pieces, "text that arrived before the deadline was passed on"
    assert isinstance(GeneratorDeadline("x"), GeneratorUnavailable)  # callers fall back


def test_a_server_trickling_events_is_cut_off_at_the_generation_deadline() -> None:
    with fake_llm(Reply(body=sse(*["word "] * 100), event_delay=0.2)) as fake:
        start = time.monotonic()
        with pytest.raises(GeneratorDeadline):
            list(openai(fake.base_url, deadline_s=1.0, max_retries=0)
                 .generate(QUESTION, PASSAGES))
        assert time.monotonic() - start < 3.0  # the body alone would take 20 s


def test_broken_stream_after_first_token_is_not_retried() -> None:
    with fake_llm(Reply(body=sse("partial", done=False), truncate=True)) as fake:
        pieces: list[str] = []
        with pytest.raises(GeneratorUnavailable, match="after the answer began"):
            pieces.extend(openai(fake.base_url).generate(QUESTION, PASSAGES))
    assert pieces == ["partial"] and len(fake.requests) == 1


@pytest.mark.parametrize(("body", "match"), [
    (b"data: {not json\n\n", "malformed"),
    (b"data: [DONE]\n\n", "no content"),
    (b'data: {"error": {"message": "CUDA out of memory"}}\n\n', "CUDA out of memory"),
])
def test_unusable_streams_are_errors(body: bytes, match: str) -> None:
    with fake_llm(Reply(body=body)) as fake, pytest.raises(GeneratorError, match=match):
        list(openai(fake.base_url).generate(QUESTION, PASSAGES))
    assert len(fake.requests) == 1


def test_a_non_streamed_json_answer_is_accepted() -> None:
    body = b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "All [1]."}}]}'
    with fake_llm(Reply(body=body, ctype="application/json")) as fake:
        assert list(openai(fake.base_url).generate(QUESTION, PASSAGES)) == ["All [1]."]


def test_client_error_is_not_retried_and_quotes_the_server() -> None:
    body = b'{"object": "error", "message": "The model `x` does not exist.", "code": 404}'
    with fake_llm(Reply(404, body, ctype="application/json")) as fake, \
            pytest.raises(GeneratorError, match="HTTP 404.*does not exist"):
        list(openai(fake.base_url, model="x").generate(QUESTION, PASSAGES))
    assert len(fake.requests) == 1


def test_api_key_is_sent_but_never_logged_or_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = b'{"error": {"message": "bad header Authorization: Bearer sk-test"}}'
    with fake_llm(Reply(body=sse("ok")), Reply(500, echo), Reply(401, echo)) as fake:
        gen = openai(fake.base_url, api_key="sk-test", max_retries=1)
        assert list(gen.generate(QUESTION, PASSAGES)) == ["ok"]
        with pytest.raises(GeneratorError) as err:
            list(gen.generate(QUESTION, PASSAGES))
    assert all(r.headers.get("Authorization") == "Bearer sk-test" for r in fake.requests)
    assert "sk-test" not in str(err.value) and "sk-test" not in repr(gen)
    assert caplog.records and not any("sk-test" in r.getMessage() for r in caplog.records)


# --- in-process transformers ----------------------------------------------------------------

def test_local_generator_streams(tiny_model_dir: Path) -> None:
    pieces = list(LocalTransformersGenerator(tiny_model_dir, options={"max_tokens": 8})
                  .generate(QUESTION, PASSAGES))
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_local_generation_is_cut_off_at_its_deadline_and_stops(tiny_model_dir: Path) -> None:
    gen = LocalTransformersGenerator(tiny_model_dir, options={"max_tokens": 64}, deadline_s=0.001)
    gen.load()  # loading is not part of a generation's deadline
    with pytest.raises(GeneratorDeadline, match="deadline"):
        list(gen.generate(QUESTION, PASSAGES))
    until = time.monotonic() + 10
    while any(t.name == "local-generate" for t in threading.enumerate()):
        assert time.monotonic() < until, "generation kept running after the deadline"
        time.sleep(0.05)


def test_local_adapter_changes_greedy_output(tiny_model_dir: Path, tiny_adapter_dir: Path) -> None:
    base = LocalTransformersGenerator(tiny_model_dir, options={"max_tokens": 8})
    tuned = LocalTransformersGenerator(tiny_model_dir, tiny_adapter_dir, options={"max_tokens": 8})
    first = "".join(base.generate(QUESTION, PASSAGES))
    assert first == "".join(base.generate(QUESTION, PASSAGES))  # greedy is deterministic
    assert "".join(tuned.generate(QUESTION, PASSAGES)) != first


def test_local_missing_model_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(GeneratorUnavailable, match="cannot load"):
        list(LocalTransformersGenerator(tmp_path / "absent").generate(QUESTION, PASSAGES))


def test_importing_generators_does_not_import_torch() -> None:
    code = ("import sys, model.generators.local, model.generators.openai_http; "
            "sys.exit('torch' in sys.modules or 'transformers' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
