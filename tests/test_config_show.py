"""``policybot config show``: every setting with its value and origin, and never a secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config_view import flatten
from bot.settings import AppSettings

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-TopSecretBotToken",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
    "SLACK_APP_TOKEN": "xapp-1-A111-2222-TopSecretAppToken",
    "POLICYBOT_GENERATOR__API_KEY": "sk-TopSecretApiKey",
    "POLICYBOT_LANCEDB_URI": "s3://lance-user:TopSecretLancePassword@store.internal/lance",
    "INTRANET_PASSWORD": "TopSecretIntranetPassword",  # read by a web source at sync only
}
DB_PASSWORD = "TopSecretDbPassword"
CONFIG = f'''
database_url = "postgresql+psycopg://policybot:{DB_PASSWORD}@db/policybot?sslpassword=x&password=TopSecretQueryPassword"

[[sources]]
name = "intranet"
type = "web"
urls = ["https://intranet.example/policies/travel.html"]
auth = {{type = "basic", username = "svc-policybot", password_env = "INTRANET_PASSWORD"}}

[generator]
backend = "openai"
base_url = "http://vllm:8000/v1"
model = "policy"

[slack]
admins = ["U012ADMIN"]
'''


def show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    config = tmp_path / "policybot.toml"
    config.write_text(CONFIG, encoding="utf-8")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POLICYBOT_SLACK__WORKERS", "3")
    result = CliRunner().invoke(main, ["config", "show", "--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_config_show_prints_no_secret_value(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for args in ((), ("--json",)):
        out = show(tmp_path, monkeypatch, *args)
        for secret in [*SECRETS.values(), DB_PASSWORD, "TopSecretQueryPassword"]:
            assert secret not in out, secret
            assert secret.split(":")[-1].split("@")[0] not in out
    rows = {r["key"]: r["value"] for r in json.loads(show(tmp_path, monkeypatch, "--json"))}
    for key in ("slack.bot_token", "slack.signing_secret", "slack.app_token",
                "generator.api_key"):
        assert rows[key] == "***", key  # set, and shown as set
    assert rows["database_url"].startswith("postgresql+psycopg://***@db/policybot?")
    assert rows["lancedb_uri"] == "s3://***@store.internal/lance"
    # the variable's name is shown (it is not the secret), its value is never read
    assert rows["sources[0].auth.password_env"] == "INTRANET_PASSWORD"


def test_config_show_lists_every_setting_with_where_it_came_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[dict[str, Any]] = json.loads(show(tmp_path, monkeypatch, "--json"))
    origin = {r["key"]: r["origin"] for r in rows}
    value = {r["key"]: r["value"] for r in rows}
    defaults = flatten(AppSettings().model_dump(mode="json"))
    missing = [k for k in defaults  # a list now set shows as key[0], key[1]…
               if not any(o == k or o.startswith((f"{k}[", f"{k}.")) for o in origin)]
    assert not missing, f"settings not shown: {missing}"
    config = str(tmp_path / "policybot.toml")
    assert origin["generator.base_url"] == f"file {config}"
    assert origin["sources[0].concurrency"] == f"file {config}"  # part of the file's source
    assert origin["slack.admins[0]"] == f"file {config}"
    assert origin["slack.workers"] == "env POLICYBOT_SLACK__WORKERS" and value["slack.workers"] == 3
    assert origin["slack.bot_token"] == "env SLACK_BOT_TOKEN"
    assert origin["generator.api_key"] == "env POLICYBOT_GENERATOR__API_KEY"
    assert origin["answer.support_threshold"] == "default"
    assert value["answer.support_threshold"] == defaults["answer.support_threshold"]
    assert origin["generator.options.max_tokens"] == "default"
    assert origin["db_url"] == "derived"
    # a null min_confidence means the fitted gate: the value in force is shown
    from model.answerability import load_params

    assert value["answer.min_confidence"] is None
    assert value["answer.gate"] == load_params().gate and origin["answer.gate"] == "derived"
    text = show(tmp_path, monkeypatch)
    assert "slack.workers = 3" in text and "# env POLICYBOT_SLACK__WORKERS" in text
