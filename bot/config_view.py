"""The effective configuration, as ``policybot config show`` prints it: every setting,
defaults included, where each value came from, and no secret.

Secrets are redacted by what they are, not by where they are: ``SecretStr`` fields (Slack
tokens, the signing secret, the generator's API key), any key named like a credential,
and the ``user:password@`` part of any URL (a PostgreSQL ``database_url``, an object store
URI). Web sources hold only the *names* of the variables their credentials are read from
at sync time, and this view never reads those variables.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic_settings import EnvSettingsSource

from bot.settings import SLACK_ENV, AppSettings, SlackEnvironment

REDACTED = "***"
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]+@")
_SECRET_KEY = re.compile(r"(^|_)(token|secret|password|passwd|api_key|apikey|credentials?)$",
                         re.IGNORECASE)
_ENV_NAME_KEY = re.compile(r"_env$")  # password_env, token_env: a variable's name, no secret
_SECRET_PARAM = re.compile(r"((?:^|[?&;\s])(?:password|passwd|pwd|token|secret|api_key|"
                           r"apikey|access_key|secret_key|sig)=)[^&;\s]+", re.IGNORECASE)


def redact(value: Any, key: str = "") -> Any:
    """``value`` with every secret in it replaced (recursively for lists and dicts)."""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if _SECRET_KEY.search(key) and not _ENV_NAME_KEY.search(key):
        return REDACTED
    return _SECRET_PARAM.sub(rf"\1{REDACTED}", _USERINFO.sub(rf"\1{REDACTED}@", text))


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` → ``{"a.b[0]": 1}``; empty lists and dicts stay as leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out |= flatten(v, f"{prefix}[{i}]")
        return out
    return {prefix: value}


def _paths(value: Any, prefix: str = "") -> set[str]:
    """The key path of every value a source gave; a list counts as one value, so the
    ``sources`` of a file give ``sources`` and everything under it."""
    if isinstance(value, dict) and value:
        found: set[str] = set()
        for k, v in value.items():
            found |= _paths(v, f"{prefix}.{k}" if prefix else str(k))
        return found
    return {prefix} if prefix else set()


def _env_name(path: str) -> str:
    slack = {f"slack.{key}": name for name, key in SLACK_ENV.items()}
    return slack.get(path) or "POLICYBOT_" + path.replace(".", "__").upper()


def origins(config_file: Path | None) -> list[tuple[str, set[str]]]:
    """(label, key paths it set), highest precedence first, as ``load_settings`` reads."""
    layers = [("env {var}", _paths(EnvSettingsSource(AppSettings)())),
              ("env {var}", _paths(SlackEnvironment(AppSettings)()))]
    if config_file is not None and Path(config_file).is_file():
        data = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        layers.append((f"file {config_file}", _paths(data)))
    return layers


def _origin(key: str, layers: list[tuple[str, set[str]]]) -> str:
    bare = re.sub(r"\[\d+\]", "", key)
    parts = bare.split(".")
    for label, paths in layers:
        for n in range(len(parts), 0, -1):
            path = ".".join(parts[:n])
            if path in paths:
                return label.format(var=_env_name(path))
    return "default"


def effective(settings: AppSettings, config_file: Path | None) -> list[dict[str, Any]]:
    """One row per setting: ``key``, ``value`` (redacted) and ``origin`` (``default``,
    ``file PATH`` or ``env VARIABLE``)."""
    config_file = config_file or (Path(os.environ["POLICYBOT_CONFIG"])
                                  if os.environ.get("POLICYBOT_CONFIG") else None)
    layers = origins(config_file)
    dumped = redact(settings.model_dump(mode="json"))
    rows = [{"key": key, "value": value, "origin": _origin(key, layers)}
            for key, value in flatten(dumped).items()]
    from model.answerer import AnswerPolicy

    gate, weight = AnswerPolicy(min_confidence=settings.answer.min_confidence,
                                coverage_weight=settings.answer.coverage_weight).gate()
    derived = {"db_url": settings.db_url, "lance_uri": settings.lance_uri,
               "answer.gate": gate, "answer.gate_coverage_weight": weight}
    for key, value in derived.items():  # what the null defaults stand for
        rows.append({"key": key, "value": redact(value), "origin": "derived"})
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """``key = value  # origin`` lines, values as JSON (TOML's spelling for scalars)."""
    shown = [(r["key"], json.dumps(r["value"], ensure_ascii=False), r["origin"]) for r in rows]
    width = min(60, max((len(k) + len(v) + 3 for k, v, _ in shown), default=0))
    return "\n".join(f"{f'{k} = {v}':<{width}}  # {o}" for k, v, o in shown)
