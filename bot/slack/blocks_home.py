"""App Home and ``/policy status``: what PolicyBot knows and how fresh it is.

People trust an answer more when they can see which sources are indexed and when each was
last synced; admins also get a Re-index button per source, so fixing a stale index does
not need a terminal, and the week's top five gaps (questions that ended not covered or
evidence only, similar ones grouped), so the handbook's holes are in front of them.
Why a sync failed (the error, and the path and reason of each document
that could not be read) is for admins only: a path or an error can name a restricted
document or a private host, so everyone else sees only that the last sync failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack import kit, limits, messages
from bot.slack.kit import Block
from bot.slack.mrkdwn import escape, truncate

FAILURES_SHOWN = 5


def _index_missing(status: dict[str, Any]) -> bool:
    sources = status.get("sources") or []
    return not any(s.get("documents") for s in sources)


def _last_sync(src: dict[str, Any], *, compact: bool, is_admin: bool) -> list[str]:
    run = src.get("last_sync")
    if not run:
        return [messages.last_sync("", None)]
    counts = messages.sync_counts(run.get("added", 0), run.get("updated", 0),
                                  run.get("unchanged", 0), run.get("deleted", 0),
                                  run.get("failed", 0), float(run.get("seconds") or 0))
    lines = [f"{messages.last_sync(run.get('status', ''), run.get('finished_at'))} · {counts}"]
    if run.get("error") and is_admin:
        lines.append(messages.sync_error(str(run["error"]))
                     if not compact else truncate(messages.sync_error(str(run["error"])), 160))
    return lines


def _source_text(src: dict[str, Any], *, compact: bool, is_admin: bool) -> str:
    name = escape(truncate(str(src.get("name", "")), 80)) or "?"
    kind = escape(truncate(str(src.get("type", "")), 40))
    lines = [f"*{name}*" + (f" · {kind}" if kind else ""),
             messages.source_counts(int(src.get("documents") or 0), int(src.get("chunks") or 0))]
    lines += _last_sync(src, compact=compact, is_admin=is_admin)
    lines.append(messages.next_sync(src.get("next_run") if src.get("schedule") else None))
    return "\n".join(lines)


def _reindex_button(name: str) -> dict[str, Any]:
    dialog = kit.confirm(messages.reindex_confirm_title(name),
                         messages.reindex_confirm_text(name),
                         messages.REINDEX_CONFIRM, messages.REINDEX_DENY)
    return kit.button(messages.REINDEX_BUTTON, "reindex_source", name, confirm_dialog=dialog)


def _failures(src: dict[str, Any]) -> list[Block]:
    failures = (src.get("last_sync") or {}).get("failures") or []
    lines = [messages.failed_document(str(p), str(r)) for p, r in failures[:FAILURES_SHOWN]]
    if len(failures) > FAILURES_SHOWN:
        lines.append(messages.more(len(failures) - FAILURES_SHOWN))
    return [kit.context(["\n".join(lines)])] if lines else []


def _sources(status: dict[str, Any], room: int, *, compact: bool,
             is_admin: bool = False, buttons: bool = True) -> list[Block]:
    """One section per source (plus failures in full view), stopping before ``room`` runs out."""
    sources = status.get("sources") or []
    orphans = status.get("unconfigured_sources_in_index") or []
    tail = [kit.context([messages.unconfigured_sources(orphans)])] if orphans else []
    room -= len(tail)
    blocks: list[Block] = []
    for i, src in enumerate(sources):
        button = _reindex_button(str(src.get("name", ""))) if is_admin and buttons else None
        group = [kit.section(_source_text(src, compact=compact, is_admin=is_admin),
                             accessory=button)]
        if not compact and is_admin:
            group += _failures(src)
        left = len(sources) - i
        if len(blocks) + len(group) > room - (1 if left > 1 else 0):
            blocks.append(kit.context([messages.more(left)]))
            break
        blocks += group
    return blocks + tail


def _gaps(gaps: Sequence[Any]) -> list[Block]:
    """The week's biggest gaps (:class:`bot.reports.weekly.Gap`): what policy owners
    should write next. Counts only: who asked is not shown."""
    lines = [messages.gap_line(g.question, g.asked, g.people) for g in gaps]
    return [kit.divider(), kit.section(messages.GAPS_TITLE),
            kit.section("\n".join(lines) if lines else messages.GAPS_NONE),
            kit.context([messages.GAPS_HINT])]


def home_view(status: dict[str, Any], *, is_admin: bool,
              gaps: Sequence[Any] | None = None) -> dict[str, Any]:
    """The App Home tab: guide, then (admins, when ``gaps`` is given) the week's top gaps,
    then each source's counts and sync times; ≤100 blocks."""
    blocks = [kit.header(messages.HOME_HEADER), kit.section(messages.HOME_GUIDE)]
    if is_admin and gaps is not None:
        blocks += _gaps(gaps)
    blocks += [kit.divider(), kit.section(messages.SOURCES_TITLE)]
    if _index_missing(status):
        blocks.append(kit.section(messages.INDEX_MISSING))
    blocks += _sources(status, limits.VIEW_BLOCKS - len(blocks), compact=False,
                       is_admin=is_admin)
    return {"type": "home", "blocks": blocks}


def status_blocks(status: dict[str, Any], *, is_admin: bool = False) -> list[Block]:
    """``/policy status``: the same facts as App Home, compact, for a message (≤50 blocks);
    sync errors for admins only."""
    blocks = [kit.header(messages.STATUS_HEADER)]
    if _index_missing(status):
        blocks.append(kit.section(messages.INDEX_MISSING))
    return blocks + _sources(status, limits.MESSAGE_BLOCKS - len(blocks), compact=True,
                             is_admin=is_admin, buttons=False)
