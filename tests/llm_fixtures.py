"""Session fixtures for LLM tests: a tiny model and adapter, and a real `transformers serve`.

Registered from conftest.py through ``pytest_plugins``. Everything is built once per
session in a temporary folder, offline, in a few seconds on CPU.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.tiny_model import (
    TINY_MODEL_ID,
    build_tiny_adapter,
    build_tiny_model,
    install_in_hub_cache,
)

SERVER_START_TIMEOUT_S = 120.0


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny Llama with tokenizer and chat template."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llm") / "model")


@pytest.fixture(scope="session")
def tiny_adapter_dir(tiny_model_dir: Path) -> Path:
    """A LoRA adapter for the tiny model that really changes its output."""
    return build_tiny_adapter(tiny_model_dir, tiny_model_dir.parent / "adapter")


def free_port() -> int:
    """A port nobody listens on now (the OS picks it; tiny race, fine for tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, chars: int = 3000) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return text[-chars:]


@contextmanager
def transformers_serve(hub: Path, model_id: str | None = None) -> Iterator[str]:
    """`transformers serve` over the hub cache ``hub`` (pinned to ``model_id`` if given);
    yields ``http://127.0.0.1:PORT/v1`` once healthy, stops the server afterwards."""
    exe = Path(sys.executable).with_name("transformers")
    if not exe.exists():
        pytest.skip("needs the `transformers` CLI: pip install 'transformers[serving]'")
    port = free_port()
    log_path = hub.parent / f"serve-{port}.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub),
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    cmd = [str(exe), "serve", *([model_id] if model_id else []), "--device", "cpu",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited with {proc.returncode}:\n"
                            f"{_tail(log_path)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not healthy after {SERVER_START_TIMEOUT_S:.0f}s:"
                            f"\n{_tail(log_path)}")
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llm_server(tiny_model_dir: Path) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of `transformers serve` pinned to the tiny model.

    The model is served by hub id from a private hub cache, because `transformers serve`
    lists models (GET /v1/models) from the hub cache only.
    """
    hub = tiny_model_dir.parent / "hub"
    model_id = install_in_hub_cache(tiny_model_dir, hub, TINY_MODEL_ID)
    with transformers_serve(hub, model_id) as url:
        yield url
