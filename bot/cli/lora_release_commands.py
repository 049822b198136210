"""``policybot adapters eval | push | list``: from a trained adapter to channels using it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bot.cli import render_adapters
from indexer.errors import PolicyBotError
from model.adapters.gate import DEFAULT_TOLERANCE

ADAPTER = click.Path(path_type=Path, file_okay=False, exists=True)


def _eval_index(app: Any, qa: Path | None) -> Any:
    """The configured index for a custom QA file; the sample handbook (in HOME/adapter-eval)
    for the bundled handbook questions, whose gold paths name its documents."""
    if qa is not None:
        return app.settings, app.index()
    from bot.settings import load_app_settings
    from indexer.index import PolicyIndex
    from indexer.sample import sample_source

    settings = load_app_settings(app.config, home=app.settings.home / "adapter-eval",
                                 database_url=None, lancedb_uri=None,
                                 sources=[sample_source()])
    index = PolicyIndex(settings)
    if not index.sync().ok:
        raise PolicyBotError("could not index the sample handbook for the evaluation")
    return settings, index


@click.command(name="eval")
@click.argument("adapter_dir", type=ADAPTER)
@click.option("--base", help="Base model folder for in-process evaluation "
              "(default: generator.model_path, else the adapter's recorded base).")
@click.option("--qa", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="QA JSONL as for `policybot eval` (default: the handbook dev set, "
                   "over the sample handbook).")
@click.option("--endpoint", help="Evaluate through this OpenAI-compatible server (vLLM).")
@click.option("--name", "served", help="The adapter's model name on --endpoint.")
@click.option("--against", help="Adapter in service to beat (default: adapters.default).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions.")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=DEFAULT_TOLERANCE,
              show_default=True)
@click.option("--device", help="Device for in-process evaluation (default: generator.device).")
@click.option("--promote", is_flag=True, help="Record the adapter as promotable if it passes.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def evaluate(app: Any, adapter_dir: Path, base: str | None, qa: Path | None,
             endpoint: str | None, served: str | None, against: str | None,
             limit: int | None, tolerance: float, device: str | None, promote: bool,
             as_json: bool) -> None:
    """Score ADAPTER_DIR and its base model, and gate it against the adapter in service."""
    from bot.cli.options import read_jsonl
    from bot.lora.evaluation import DEFAULT_QA, METRICS_FILE, run_gate
    from bot.lora.registry import AdapterRegistry

    if endpoint and not served:
        raise click.UsageError("--endpoint needs --name (the adapter's model name there)")
    qa_path = qa or DEFAULT_QA
    if not qa_path.exists():
        raise PolicyBotError(f"{qa_path} not found: give --qa FILE")
    with qa_path.open(encoding="utf-8") as handle:
        items = read_jsonl(handle)[:limit]
    settings, index = _eval_index(app, qa)
    candidate, base_variant = _variants(settings, adapter_dir, base, endpoint, served, device)
    verdict, record = run_gate(settings, index, items, candidate, base_variant,
                               AdapterRegistry(app.settings),
                               against or app.settings.adapters.default, tolerance)
    record |= {"qa": str(qa_path), "promoted": promote and verdict.promotable}
    (adapter_dir / METRICS_FILE).write_text(json.dumps(record, indent=2) + "\n",
                                            encoding="utf-8")
    if as_json:
        click.echo(json.dumps(record))
    else:
        click.echo(render_adapters.gate_table(verdict, record["base_metrics"]))
    if promote and not verdict.promotable:
        raise PolicyBotError(f"not promoted: {verdict.summary()}")
    if promote and not as_json:
        click.echo(f"promoted: push it with `policybot adapters push NAME {adapter_dir}`")


def _variants(settings: Any, adapter_dir: Path, base: str | None, endpoint: str | None,
              served: str | None, device: str | None) -> tuple[Any, Any]:
    """(candidate, base) generator settings: both through ``endpoint``, or both in-process."""
    from bot.lora.evaluation import endpoint_variant, local_variant

    if endpoint:
        if not settings.generator.model:
            raise PolicyBotError("set generator.model to the served base model's name")
        return (endpoint_variant(settings, endpoint, served or ""),
                endpoint_variant(settings, endpoint, settings.generator.model))
    recorded = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    base_dir = base or settings.generator.model_path or recorded.get("base_model_name_or_path")
    if not base_dir:
        raise PolicyBotError("give --base MODEL_DIR (the model the adapter was trained on)")
    # Greedy, as endpoint_variant decodes: the local backend now honours the configured
    # options (max_tokens, ...), and sampling would make the comparison a matter of luck.
    return (_greedy(local_variant(settings, str(base_dir), adapter_dir, device)),
            _greedy(local_variant(settings, str(base_dir), None, device)))


def _greedy(variant: Any) -> Any:
    return variant.model_copy(update={"options": {**variant.options, "temperature": 0}})


@click.command()
@click.argument("name")
@click.argument("adapter_dir", type=ADAPTER)
@click.option("--endpoint", help="vLLM base URL (default: generator.base_url).")
@click.option("--server-path", help="ADAPTER_DIR as the vLLM host sees it, if it differs.")
@click.option("--force", is_flag=True, help="Push even if `adapters eval --promote` did not "
              "pass it.")
@click.pass_obj
def push(app: Any, name: str, adapter_dir: Path, endpoint: str | None,
         server_path: str | None, force: bool) -> None:
    """Load ADAPTER_DIR into the running vLLM as adapter NAME, without a restart."""
    from bot.lora.evaluation import read_metrics
    from bot.lora.push import push_adapter
    from bot.lora.registry import AdapterRegistry
    from model.adapters.runtime import LoRARuntimeClient

    settings = app.settings
    url = endpoint or settings.generator.base_url
    if not url:
        raise click.UsageError("give --endpoint URL or set generator.base_url")
    evaluated = read_metrics(adapter_dir) or {}
    if not evaluated.get("promoted") and not force:
        raise PolicyBotError(f"{adapter_dir} has not passed `policybot adapters eval "
                             f"{adapter_dir} --promote` (use --force to push anyway)")
    key = settings.generator.api_key
    client = LoRARuntimeClient(url, key.get_secret_value() if key else None)
    try:
        result = push_adapter(AdapterRegistry(settings), client, name, adapter_dir,
                              server_path=server_path, base=settings.generator.model,
                              metrics=evaluated.get("metrics"))
    finally:
        client.close()
    render_adapters.findings(result.findings)
    for note in result.notes:
        click.echo(note)
    replaced = f", replacing {result.replaced!r}" if result.replaced else ""
    click.secho(f"adapter {name!r} now served as {result.served_name!r}{replaced}", fg="green")


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_adapters(app: Any, as_json: bool) -> None:
    """Configured and pushed adapters, the channels using them, and what vLLM lists."""
    from bot.lora.registry import AdapterRegistry

    settings = app.settings
    registry = AdapterRegistry(settings)
    listed = _listed(settings)
    names = sorted(set(settings.adapters.paths) | registry.names_in_use()
                   | {v.name for v in registry.versions()})
    rows = []
    for name in names:
        version = registry.active(name)
        served = registry.served_name(name)
        rows.append({
            "name": name, "served_as": served,
            "path": version.path if version else str(settings.adapters.paths.get(name, "")),
            "pushed_at": version.loaded_at.isoformat(timespec="seconds") if version else None,
            "default": name == settings.adapters.default,
            "channels": [c.id for c in settings.channels if c.adapter == name],
            "listed": None if listed is None else served in listed,
            "metrics": (version.metrics if version else None)})
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no adapters configured or pushed")
    for r in rows:
        state = {None: "server not checked", True: "served", False: "NOT LISTED by the server"}
        click.echo(f"{r['name']}{' (default)' if r['default'] else ''}: {r['served_as']} "
                   f"from {r['path'] or '?'} — {state[r['listed']]}")
        if r["channels"]:
            click.echo(f"  channels: {', '.join(r['channels'])}")
        if r["pushed_at"]:
            click.echo(f"  pushed {r['pushed_at']}")


def _listed(settings: Any) -> set[str] | None:
    """What the configured server lists now, or None when there is none or it is down."""
    if not settings.generator.base_url:
        return None
    from model.adapters.runtime import LoRARuntimeClient, RuntimeLoRAError

    key = settings.generator.api_key
    client = LoRARuntimeClient(settings.generator.base_url,
                               key.get_secret_value() if key else None, timeout_s=5.0)
    try:
        return set(client.model_ids())
    except RuntimeLoRAError:
        return None
    finally:
        client.close()


COMMANDS = [evaluate, push, list_adapters]
