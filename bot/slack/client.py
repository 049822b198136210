"""The Slack Web API client every part of the bot uses."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)


def web_client(token: str, base_url: str, timeout_s: int = 15) -> WebClient:
    """A client for ``base_url`` (GovSlack and Enterprise hosts differ) that waits out a
    429 for as long as ``Retry-After`` says and retries dropped connections."""
    return WebClient(token=token, base_url=base_url, timeout=timeout_s,
                     retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2),
                                     RateLimitErrorRetryHandler(max_retry_count=3)])
