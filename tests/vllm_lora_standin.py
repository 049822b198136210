"""A stand-in for vLLM's runtime LoRA API, on the standard library's HTTP server.

Implements what ``vllm serve --enable-lora`` does with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True
(vllm/entrypoints/openai/models/serving.py, serve/lora/api_router.py,
serve/utils/error_response.py), request and response shapes included:

- ``GET /v1/models``: ``{"object": "list", "data": [card...]}``; the base card has
  ``"parent": null``, each adapter ``"root": PATH, "parent": BASE``.
- ``POST /v1/load_lora_adapter`` ``{"lora_name", "lora_path"}``: 200 with the plain-text body
  ``Success: LoRA adapter 'NAME' added successfully.``; 400 InvalidUserInput when a field is
  empty or the name is loaded already; 404 NotFoundError "Loading lora NAME failed: No
  adapter found for PATH"; 500 InternalServerError when the engine refuses the adapter
  (here: a rank above ``max_lora_rank``, or DoRA).
- ``POST /v1/unload_lora_adapter`` ``{"lora_name"}``: 200 ``Success: LoRA adapter 'NAME'
  removed successfully.``; 404 NotFoundError "The lora adapter 'NAME' cannot be found.".
- Errors: ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status in code.
- Without runtime updating the POST routes do not exist: FastAPI's 404 ``{"detail": "Not
  Found"}``.
- With ``api_key`` set (vLLM's ``--api-key`` / VLLM_API_KEY), every ``/v1`` request without
  ``Authorization: Bearer KEY`` gets 401 ``{"error": "Unauthorized"}``, as vLLM's middleware
  answers (vllm/entrypoints/openai/api_server.py).

``POST /v1/chat/completions`` streams one sentence naming the model it was asked for, so
tests can see which adapter a request reached.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class StandIn:
    base: str = "policybot/base"
    max_lora_rank: int = 16
    runtime_updates: bool = True
    loaded: dict[str, str] = field(default_factory=dict)  # name -> path
    hidden: set[str] = field(default_factory=set)  # loaded but left out of /v1/models
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    base_url: str = ""
    api_key: str | None = None
    refused: int = 0  # requests answered 401

    def cards(self) -> list[dict[str, Any]]:
        now = int(time.time())
        base = {"id": self.base, "object": "model", "created": now, "owned_by": "vllm",
                "root": f"/models/{self.base}", "parent": None, "max_model_len": 4096,
                "permission": [{"object": "model_permission"}]}
        return [base] + [{"id": n, "object": "model", "created": now, "owned_by": "vllm",
                          "root": p, "parent": self.base, "max_model_len": None,
                          "permission": [{"object": "model_permission"}]}
                         for n, p in self.loaded.items() if n not in self.hidden]

    def load(self, body: dict[str, Any]) -> tuple[int, Any]:
        name, path = body.get("lora_name"), body.get("lora_path")
        if not name or not path:
            return _error("Both 'lora_name' and 'lora_path' must be provided.",
                          "InvalidUserInput", 400)
        if name in self.loaded:
            return _error(f"The lora adapter '{name}' has already been loaded. If you want to "
                          "load the adapter in place, set 'load_inplace' to True.",
                          "InvalidUserInput", 400)
        config = Path(path) / "adapter_config.json"
        if not config.exists():
            return _error(f"Loading lora {name} failed: No adapter found for {path}",
                          "NotFoundError", 404)
        data = json.loads(config.read_text())
        problems = []
        if data.get("use_dora"):
            problems.append("vLLM does not yet support DoRA.")
        if int(data.get("r", 0)) > self.max_lora_rank:
            problems.append(f"LoRA rank {data['r']} is greater than max_lora_rank "
                            f"{self.max_lora_rank}.")
        if problems:
            return _error(" ".join(problems), "InternalServerError", 500)
        self.loaded[name] = path
        return 200, f"Success: LoRA adapter '{name}' added successfully."

    def unload(self, body: dict[str, Any]) -> tuple[int, Any]:
        name = body.get("lora_name")
        if not name:
            return _error("'lora_name' needs to be provided to unload a LoRA adapter.",
                          "InvalidUserInput", 400)
        if name not in self.loaded:
            return _error(f"The lora adapter '{name}' cannot be found.", "NotFoundError", 404)
        del self.loaded[name]
        return 200, f"Success: LoRA adapter '{name}' removed successfully."

    def chat(self, body: dict[str, Any]) -> tuple[int, Any]:
        model = body.get("model")
        if model != self.base and model not in self.loaded:
            return _error(f"The model `{model}` does not exist.", "NotFoundError", 404,
                          param="model")
        return 200, ("sse", f"Served by {model} [1].")


def _error(message: str, kind: str, code: int, param: str | None = None
           ) -> tuple[int, dict[str, Any]]:
    return code, {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: Any) -> None:
        if isinstance(payload, tuple):  # ("sse", text): one chunk, then [DONE]
            chunk = {"choices": [{"index": 0, "delta": {"content": payload[1]}}]}
            body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
            ctype = "text/event-stream"
        elif isinstance(payload, str):  # vLLM's Response(content=str): no media type
            body, ctype = payload.encode(), None
        else:
            body, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        state: StandIn = self.server.state
        if not state.api_key or not self.path.startswith("/v1"):
            return True
        if self.headers.get("Authorization") == f"Bearer {state.api_key}":
            return True
        state.refused += 1
        self._send(401, {"error": "Unauthorized"})
        return False

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        state: StandIn = self.server.state
        state.calls.append(("GET " + self.path, {}))
        if not self._authorized():
            return
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": state.cards()})
        else:
            self._send(404, {"detail": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        state: StandIn = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        state.calls.append(("POST " + self.path, body))
        if not self._authorized():
            return
        routes = {"/v1/chat/completions": state.chat}
        if state.runtime_updates:
            routes |= {"/v1/load_lora_adapter": state.load,
                       "/v1/unload_lora_adapter": state.unload}
        handler = routes.get(self.path)
        if handler is None:
            self._send(404, {"detail": "Not Found"})
        else:
            self._send(*handler(body))


@contextmanager
def vllm_standin(**options: Any) -> Iterator[StandIn]:
    """A running stand-in on a free local port; ``state.base_url`` ends in ``/v1``."""
    state = StandIn(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
