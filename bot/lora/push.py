"""``policybot adapters push``: a new adapter version into a running vLLM, without a restart.

Order matters, so a failure at any step leaves the bot exactly as it was:
validate locally → load into vLLM under a fresh name → see it listed → switch the registry →
unload the version it replaced. Until the switch nothing the bot asks for has changed; a
failed load is reported with vLLM's own message, and a new version that loaded but does
not show up is unloaded again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.lora.registry import AdapterRegistry
from indexer.errors import PolicyBotError
from model.adapters.runtime import LoRARuntimeClient, RuntimeLoRAError
from model.adapters.validate import Finding, has_errors, validate_adapter


class PushError(PolicyBotError):
    """The push did not happen; the registry and the server are as they were."""


@dataclass
class PushResult:
    """What a push did, for the CLI to report."""

    name: str
    served_name: str
    path: str
    replaced: str | None = None  # the version it replaced and unloaded
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def push_adapter(registry: AdapterRegistry, client: LoRARuntimeClient, name: str,
                 folder: Path, *, server_path: str | None = None, base: str | None = None,
                 metrics: dict[str, Any] | None = None) -> PushResult:
    """Load ``folder`` as the new version of adapter ``name``; see the module doc."""
    findings = validate_adapter(folder, registry.settings.adapters.max_lora_rank, base)
    if has_errors(findings):
        problems = "; ".join(f.message for f in findings if f.level == "error")
        raise PushError(f"{folder} would be refused by vLLM: {problems}")
    old = registry.served_name(name)
    served = registry.next_served_name(name)
    path = server_path or str(folder.resolve())
    result = PushResult(name, served, path, findings=findings)
    try:
        result.notes.append(client.load(served, path))
    except RuntimeLoRAError as exc:
        raise PushError(f"vLLM did not load {served!r} from {path}: {exc}; channels still "
                        f"use {old!r}") from exc
    try:
        cards = {str(c["id"]): c for c in client.models()}
    except RuntimeLoRAError as exc:
        _unload_quietly(client, served)
        raise PushError(f"loaded {served!r} but could not list models to verify it: {exc}; "
                        f"unloaded it, channels still use {old!r}") from exc
    if served not in cards:
        _unload_quietly(client, served)
        raise PushError(f"vLLM said it loaded {served!r} but does not list it in /v1/models "
                        f"(another replica behind a load balancer?); channels still use "
                        f"{old!r}")
    parent = cards[served].get("parent")
    if base and parent and parent != base:
        result.notes.append(f"warning: vLLM serves it on {parent!r}, configured base is {base!r}")
    registry.activate(name, served, path, metrics)
    if old in cards and old != served:
        result.replaced = old
        try:
            result.notes.append(client.unload(old))
        except RuntimeLoRAError as exc:
            result.notes.append(f"warning: could not unload the old version {old!r} "
                                f"({exc}); unload it by hand to free its slot")
    return result


def _unload_quietly(client: LoRARuntimeClient, served: str) -> None:
    """Best-effort clean-up of a version that will not be used; the push already failed."""
    with contextlib.suppress(RuntimeLoRAError):
        client.unload(served)
