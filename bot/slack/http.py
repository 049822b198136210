"""``policybot serve --http``: Slack's requests, ``/healthz`` and ``/metrics`` over WSGI,
served by waitress (a production server with a bounded thread pool, no dev server)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack.health import health
from bot.slack.requests import bolt_request
from bot.slack.services import Services

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
# Slack's requests are small (an event or a form post: kilobytes). waitress refuses a
# larger Content-Length as soon as it has read the headers (413), and stops a chunked body
# at the limit, so an unsigned body never reaches memory before the signature check.
MAX_BODY_BYTES = 1024 * 1024
StartResponse = Callable[..., Any]


class _Handler(SlackRequestHandler):
    def dispatch(self, request: Any) -> Any:
        return self.app.dispatch(bolt_request(request.get_body(), request.query_string,
                                              request.get_headers()))


class WsgiApp:
    def __init__(self, svc: Services, app: App | None) -> None:
        self.svc = svc
        self.slack = _Handler(app, path=EVENTS_PATH) if app is not None else None

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        began = time.perf_counter()
        try:
            if path == EVENTS_PATH and self.slack is not None:
                return self.slack(environ, start)
            if path == "/healthz" and method in ("GET", "HEAD"):
                ok, body = health(self.svc)
                return _reply(start, 200 if ok else 503, "application/json",
                              json.dumps(body).encode())
            if path == "/metrics" and method == "GET":
                return _reply(start, 200, "text/plain; version=0.0.4; charset=utf-8",
                              self.svc.metrics.render())
            return _reply(start, 404, "text/plain", b"not found\n")
        finally:
            if path == EVENTS_PATH:
                self.svc.metrics.request_seconds.labels(path).observe(
                    time.perf_counter() - began)


def _reply(start: StartResponse, status: int, content_type: str, body: bytes) -> list[bytes]:
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start(f"{status} {reason}", [("Content-Type", content_type),
                                 ("Content-Length", str(len(body)))])
    return [body]


def serve_http(wsgi: WsgiApp, host: str, port: int, threads: int = 16,
               ready: Callable[[int], None] | None = None) -> None:
    """Blocks until interrupted; ``ready`` gets the bound port (0 picks a free one)."""
    from waitress.server import create_server

    server = create_server(wsgi, host=host, port=port, threads=threads,
                           ident="PolicyBot", clear_untrusted_proxy_headers=True,
                           max_request_body_size=MAX_BODY_BYTES)
    bound = server.effective_port  # type: ignore[union-attr]
    log.info("PolicyBot listening on http://%s:%s (Slack: %s, /healthz, /metrics)",
             host, bound, EVENTS_PATH)
    if ready is not None:
        ready(int(bound))
    try:
        server.run()
    finally:
        server.close()
