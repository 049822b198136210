"""vLLM's runtime LoRA API: load and unload adapters in a running server, list what it serves.

The server must run with ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``; otherwise the two POST
routes do not exist and FastAPI answers 404 ``{"detail": "Not Found"}``, which is reported
as such. Shapes, per vLLM's ``serving_models.py`` and ``serve/lora/api_router.py``:

- ``POST /v1/load_lora_adapter`` ``{"lora_name", "lora_path"}`` → 200 with a plain-text
  body ``Success: LoRA adapter 'NAME' added successfully.``; a name already loaded → 400
  ``InvalidUserInput``; a path without an adapter → 404 ``NotFoundError`` ("No adapter found
  for PATH"); any other load failure (rank too high, DoRA…) → 400 or 500.
- ``POST /v1/unload_lora_adapter`` ``{"lora_name"}`` → 200 ``Success: LoRA adapter 'NAME'
  removed successfully.``; an unknown name → 404 ``NotFoundError``.
- Errors are ``{"error": {"message", "type", "param", "code"}}`` (older vLLM: the same fields
  at the top level); ``GET /v1/models`` lists adapters as cards with ``"parent": BASE``.
"""

from __future__ import annotations

from typing import Any

import httpx

from model.generators.openai_wire import server_message


class RuntimeLoRAError(Exception):
    """The server refused or failed a request; ``status`` is 0 when it was unreachable."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class LoRARuntimeClient:
    """``endpoint``: the server's OpenAI base URL, with or without the ``/v1`` suffix."""

    def __init__(self, endpoint: str, api_key: str | None = None, timeout_s: float = 300.0
                 ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        root = endpoint.rstrip("/")
        self.base_url = root if root.endswith("/v1") else f"{root}/v1"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Loading copies weights to the GPU: allow minutes, but fail fast on a dead host.
        self._client = httpx.Client(headers=headers,
                                    timeout=httpx.Timeout(timeout_s, connect=5.0))

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def models(self) -> list[dict[str, Any]]:
        """The model cards of ``GET /v1/models`` (base model and loaded adapters)."""
        resp = self._request("GET", "/models")
        try:
            data = resp.json()["data"]
            return [card for card in data if isinstance(card, dict) and "id" in card]
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeLoRAError(f"{self.base_url}/models: not an OpenAI model list") from exc

    def model_ids(self) -> list[str]:
        """Just the ids: the base model's and each loaded adapter's."""
        return [str(card["id"]) for card in self.models()]

    def load(self, name: str, path: str) -> str:
        """Load the adapter at ``path`` (as the server sees it) as model ``name``."""
        resp = self._request("POST", "/load_lora_adapter",
                             {"lora_name": name, "lora_path": path})
        return resp.text.strip()

    def unload(self, name: str) -> str:
        """Unload adapter ``name``; requests naming it then fail with 404."""
        resp = self._request("POST", "/unload_lora_adapter", {"lora_name": name})
        return resp.text.strip()

    def _request(self, method: str, route: str, body: dict[str, Any] | None = None
                 ) -> httpx.Response:
        url = f"{self.base_url}{route}"
        try:
            resp = self._client.request(method, url, json=body)
        except httpx.TransportError as exc:
            raise RuntimeLoRAError(f"{url}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code < 400:
            return resp
        message = server_message(resp.content)
        if resp.status_code == 404 and message == "Not Found" and route != "/models":
            message = ("the server has no runtime LoRA API: start vLLM with "
                       "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True")
        raise RuntimeLoRAError(f"{method} {url}: HTTP {resp.status_code}: {message}",
                               resp.status_code)
