"""``/healthz``: can this process answer? The state database and the index must be
reachable; an index with no documents yet is reachable (``policybot sync`` fills it)."""

from __future__ import annotations

from typing import Any

from bot.slack.services import Services


def health(svc: Services) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        svc.history.ping()
        checks["state_db"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["state_db"] = f"unreachable: {type(exc).__name__}"
    try:
        store = svc.index.store
        store.refresh()
        checks["index"] = "ok" if store.exists else "empty: run policybot sync"
    except Exception as exc:  # noqa: BLE001
        checks["index"] = f"unreachable: {type(exc).__name__}"
    ok = not any(str(v).startswith("unreachable") for v in checks.values())
    return ok, {"status": "ok" if ok else "unavailable", **checks}
