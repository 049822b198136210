"""Slack HTTP requests as bolt requests, with one parsing fix.

slack-bolt decides that a form body is an interactivity payload when the text
``payload`` appears anywhere in it, so ``/policy what is the payload limit?`` would
arrive empty and be answered 404. A slash command's form always has ``command=`` and no
``payload`` field, so such bodies are re-parsed as the plain form they are. The raw body
is untouched: signature verification still sees exactly what Slack signed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest
from slack_bolt.request.internals import build_context


def bolt_request(body: str, query: Any = None, headers: Any = None) -> BoltRequest:
    req = BoltRequest(body=body, query=query, headers=headers)
    if req.body or body.lstrip().startswith("{") or "payload" not in body:
        return req
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "command" in form and "payload" not in form:
        req.body = form
        req.context = build_context(req.context, form)
    return req
