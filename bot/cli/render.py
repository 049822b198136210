"""Terminal rendering of sync reports, passages and status."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from indexer.labels import citation_label


def sync_result(result: Any) -> None:
    for r in result.reports:
        colour = {"ok": "green", "partial": "yellow", "failed": "red"}[r.status]
        click.secho(f"{r.source}: {r.status}", fg=colour, bold=True, err=True, nl=False)
        click.echo(f"  added {r.added}, updated {r.updated}, unchanged {r.unchanged}, "
                   f"deleted {r.deleted}, failed {r.failed}, empty {r.empty}, "
                   f"embedded {r.chunks_embedded} chunks in {r.seconds:.1f}s", err=True)
        if r.error:
            click.echo(f"  source could not be listed (index kept as it was): {r.error}",
                       err=True)
        for path, reason in r.failures:
            click.echo(f"  skipped {path}: {reason}", err=True)
        for path, reason in r.empties:
            click.echo(f"  empty {path}: {reason}", err=True)


def passages(question: str, results: list[Any]) -> None:
    click.secho(f"Q: {question}", bold=True)
    if not results:
        click.echo("No matching passages.")
    for n, p in enumerate(results, start=1):
        dated = p.dating.describe()
        click.secho(f"\n[{n}] {citation_label(p.title, p.section)}"
                    + (f"  ({dated})" if dated else ""), fg="cyan", bold=True)
        click.echo(f"    {p.url}")
        snippet = textwrap.shorten(" ".join(p.text.split()), width=400, placeholder=" …")
        click.echo(textwrap.indent(textwrap.fill(snippet, 96), "    "))


def status(info: dict[str, Any]) -> str:
    emb = info.get("embedding") or {}
    lines = [f"index: {info['index']}  (model {info['embedding_model']}"
             + (f", vectors {emb['space']} via {emb['backend']})" if emb else ")")]
    other = {s or "unknown": n for s, n in (emb.get("index_spaces") or {}).items()
             if s != emb.get("space")}
    if other:
        lines.append("warning: rows embedded in another space ("
                     + ", ".join(f"{n} {s}" for s, n in sorted(other.items()))
                     + "): run `policybot sync` to re-embed them")
    if info.get("undated_rows"):
        lines.append(f"note: {info['undated_rows']} rows predate per-document versions and "
                     "dates (their sources show the sync day): run `policybot sync` to fill "
                     "them in (documents are re-read, nothing is re-embedded)")
    if info.get("counts_from") == "index":
        lines.append("note: documents and chunks were counted in the index, as no sync has "
                     "recorded them yet: the next `policybot sync` records them, and status "
                     "starts faster after it")
    if not info["sources"]:
        lines.append("no sources configured")
    for s in info["sources"]:
        aud = f", audience {', '.join(s['audience'])}" if s["audience"] else ""
        lines.append(f"\n{s['name']} ({s['type']}{aud}): {s['documents']} documents, "
                     f"{s['chunks']} chunks")
        run = s["last_sync"]
        if run is None:
            lines.append("  last sync: never")
        else:
            lines.append(f"  last sync: {run['finished_at']:%Y-%m-%d %H:%M:%S} UTC, "
                         f"{run['status']} ({run['trigger']}): +{run['added']} "
                         f"~{run['updated']} ={run['unchanged']} -{run['deleted']} "
                         f"!{run['failed']}"
                         + (f" empty {run['empty']}" if run.get("empty") else "")
                         + f" in {run['seconds']:.1f}s")
            if run["error"]:
                lines.append(f"  error: {run['error']}")
            lines.extend(f"  skipped {p}: {r}" for p, r in run["failures"])
            lines.extend(f"  empty {p}: {r}" for p, r in run.get("empties") or [])
        if s["schedule"]:
            when = s["next_run"]
            note = "" if s["next_run_scheduled"] else " (once `policybot scheduler` runs)"
            shown = f"{when:%Y-%m-%d %H:%M:%S} UTC" if when else "none"
            lines.append(f"  schedule: {s['schedule']}, next run {shown}{note}")
        else:
            lines.append("  schedule: none (sync by hand)")
    if info["unconfigured_sources_in_index"]:
        lines.append("\nindexed but no longer configured: "
                     + ", ".join(info["unconfigured_sources_in_index"]))
    return "\n".join(lines)
