"""Replies to ``/policy``'s own commands: help, and re-index progress and results.

Re-index messages show counts so an admin can tell at a glance whether a sync did what
they expected.
"""

from __future__ import annotations

from typing import Any

from bot.slack import kit, messages
from bot.slack.kit import Block

FAILURES_SHOWN = 10


def help_blocks() -> list[Block]:
    """``/policy help``: every sub-command, then the other ways to ask."""
    return [kit.section(messages.HELP_COMMAND), kit.context([messages.HELP_CONVERSATION])]


def progress_blocks(source: str | None, done: int, total: int) -> list[Block]:
    """A re-index in flight, updated in place as documents are checked."""
    return [kit.section(messages.reindex_progress(source, done, total)),
            kit.context([messages.progress_bar(done, total)])]


def sync_result_blocks(summary: dict[str, Any], ok: bool) -> list[Block]:
    """How a re-index ended: counts on success, a plain failure notice otherwise."""
    source = summary.get("source")
    if not ok:
        blocks = [kit.section(messages.reindex_failed(source))]
    else:
        blocks = [kit.section(messages.reindex_finished(
            source, int(summary.get("added", 0)), int(summary.get("updated", 0)),
            int(summary.get("unchanged", 0)), int(summary.get("deleted", 0)),
            int(summary.get("failed", 0)), float(summary.get("seconds", 0.0))))]
    failures = summary.get("failures") or []
    lines = [messages.failed_document(str(p), str(r)) for p, r in failures[:FAILURES_SHOWN]]
    if len(failures) > FAILURES_SHOWN:
        lines.append(messages.more(len(failures) - FAILURES_SHOWN))
    if lines:
        blocks.append(kit.context(["\n".join(lines)]))
    return blocks
