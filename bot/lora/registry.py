"""Which LoRA adapter answers in a channel, and the name vLLM serves it under right now.

Configuration says which adapter a channel wants (``[[channels]] adapter``, else
``adapters.default``). The state database says where each adapter was last pushed: vLLM
cannot load a new version under a name it already serves, so ``policybot adapters push``
loads it as ``NAME@vN``, and the row marked *active* maps the configured name to it. The
health check tells the registry which models the server lists; an adapter it does not
list is answered by the base model rather than failing every question.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, String, Table, Text, insert, select, update
from sqlalchemy.engine import Engine

from bot.settings import AppSettings
from indexer.db import metadata, open_state
from indexer.state import utcnow

adapter_versions = Table(
    "adapter_versions", metadata,
    Column("served_name", String(200), primary_key=True),  # the model name vLLM serves
    Column("name", String(200), nullable=False, index=True),  # the name channels ask for
    Column("path", Text, nullable=False),  # as the vLLM host sees it
    Column("status", String(20), nullable=False),  # active | retired
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("metrics", JSON),  # the evaluation it was promoted on
)


@dataclass(frozen=True)
class AdapterVersion:
    """One pushed version of an adapter, as the state database records it."""

    served_name: str
    name: str
    path: str
    status: str
    loaded_at: datetime
    metrics: dict[str, Any] | None = None


def _version(row: Any) -> AdapterVersion:
    data = dict(row._mapping)
    if data["loaded_at"].tzinfo is None:  # SQLite drops the zone
        data["loaded_at"] = data["loaded_at"].replace(tzinfo=UTC)
    return AdapterVersion(**data)


class AdapterRegistry:
    """Thread-safe; reads the state database at most every ``cache_s`` seconds, so a push
    made by the CLI reaches a running bot within that time."""

    def __init__(self, settings: AppSettings, engine: Engine | None = None,
                 cache_s: float = 5.0) -> None:
        self.settings = settings
        self.engine = engine or open_state(settings.db_url)
        self.cache_s = cache_s
        self._lock = threading.Lock()
        self._active: dict[str, AdapterVersion] = {}
        self._read_at = -math.inf
        self._listed: frozenset[str] | None = None  # None: never checked, trust the config

    # -- configuration -----------------------------------------------------------------
    def name_for(self, channel_id: str | None) -> str | None:
        """The adapter name a channel asks for (its own, else the default; None: base)."""
        channel = self.settings.channel(channel_id) if channel_id else None
        if channel is not None and channel.adapter:
            return channel.adapter
        return self.settings.adapters.default

    def names_in_use(self) -> set[str]:
        """Every adapter some channel (or the default) asks for: what health checks watch."""
        names = {c.adapter for c in self.settings.channels if c.adapter}
        return names | ({self.settings.adapters.default} if self.settings.adapters.default
                        else set())

    # -- state ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the active versions (a push may come from another process)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(adapter_versions)
                                .where(adapter_versions.c.status == "active")).all()
        with self._lock:
            self._active = {v.name: v for v in map(_version, rows)}
            self._read_at = time.monotonic()

    def active(self, name: str) -> AdapterVersion | None:
        """The pushed version of ``name`` that is active, if any."""
        if time.monotonic() - self._read_at > self.cache_s:
            self.refresh()
        return self._active.get(name)

    def served_name(self, name: str) -> str:
        """The model name to request for ``name``: the pushed version, else ``name``
        itself (as loaded at startup with ``--lora-modules NAME=PATH``)."""
        version = self.active(name)
        return version.served_name if version else name

    def versions(self, name: str | None = None) -> list[AdapterVersion]:
        """Every pushed version, newest first: the history behind ``adapters list``."""
        query = select(adapter_versions).order_by(adapter_versions.c.loaded_at.desc())
        if name:
            query = query.where(adapter_versions.c.name == name)
        with self.engine.connect() as conn:
            return [_version(r) for r in conn.execute(query)]

    def next_served_name(self, name: str) -> str:
        """A name vLLM does not serve yet (``NAME@vN``): it refuses to load a name twice."""
        taken = {v.served_name for v in self.versions(name)} | {name}
        n = len(taken) + 1
        while f"{name}@v{n}" in taken:
            n += 1
        return f"{name}@v{n}"

    def activate(self, name: str, served_name: str, path: str,
                 metrics: dict[str, Any] | None = None) -> AdapterVersion | None:
        """Make ``served_name`` the active version of ``name``; returns the one it replaces."""
        previous = self.versions(name)
        with self.engine.begin() as conn:
            conn.execute(update(adapter_versions).where(
                adapter_versions.c.name == name, adapter_versions.c.status == "active")
                .values(status="retired"))
            conn.execute(insert(adapter_versions).values(
                served_name=served_name, name=name, path=path, status="active",
                loaded_at=utcnow(), metrics=metrics))
        self.refresh()
        return next((v for v in previous if v.status == "active"), None)

    # -- what the server serves ----------------------------------------------------------
    def set_listed(self, model_ids: Iterable[str] | None) -> None:
        """The ids ``GET /v1/models`` returned (None: unknown, use the names as they are)."""
        with self._lock:
            self._listed = None if model_ids is None else frozenset(model_ids)

    def resolve(self, name: str | None) -> str | None:
        """The model to request for adapter ``name``, or None for the base model."""
        if name is None:
            return None
        served = self.served_name(name)
        listed = self._listed
        if listed is None or served in listed:
            return served
        if served != name and name in listed:  # e.g. vLLM restarted with its startup adapters
            return name
        return None

    def model_for(self, channel_id: str | None) -> str | None:
        """The OpenAI ``model`` to send for a question in ``channel_id`` (None: base model)."""
        return self.resolve(self.name_for(channel_id))
