"""Configuration: TOML file, environment overrides, and errors an admin can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import load_settings
from indexer.errors import ConfigError

CONTRACT = """
[[sources]]
name = "handbook"
type = "directory"
path = "/srv/handbook"
url = "https://github.com/org/handbook/blob/main/{path}"
"""


def test_contract_file_loads(tmp_path: Path) -> None:
    cfg = tmp_path / "policybot.toml"
    cfg.write_text(CONTRACT)
    s = load_settings(cfg)
    src = s.source("handbook")
    assert (src.type, str(src.path), src.url) == (
        "directory", "/srv/handbook", "https://github.com/org/handbook/blob/main/{path}")


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONTRACT + "\n[embedding]\nbatch_size = 8\n")
    monkeypatch.setenv("POLICYBOT_EMBEDDING__BATCH_SIZE", "16")
    monkeypatch.setenv("POLICYBOT_CONFIG", str(cfg))
    s = load_settings()
    assert s.embedding.batch_size == 16
    assert s.home == Path(str(tmp_path / "home"))  # POLICYBOT_HOME from the fixture


@pytest.mark.parametrize("body, expected", [
    (CONTRACT + 'pth = "x"\n', ["sources[0].pth", "unknown key", "allowed keys", "path"]),
    ('[[sources]]\nname = "a"\ntype = "ftp"\n',
     ["sources[0].type", "unknown source type 'ftp'", "allowed types: directory, git, web"]),
    ('[[sources]]\nname = "a"\npath = "/srv"\n',
     ["sources[0].type: missing", "allowed types: directory, git, web"]),
    ('[[sources]]\nname = "w"\ntype = "web"\nurls = ["https://a/"]\nauth = {type = "oauth"}\n',
     ["sources[0].auth.type", "unknown type 'oauth'", "allowed types: basic, bearer"]),
    (CONTRACT + 'schedule = "sometimes"\n', ["schedule", "'30m'", "cron"]),
    (CONTRACT.replace("{path}", "{file}"), ["sources[0].url", "{path}, {version}"]),
    (CONTRACT + CONTRACT, ["repeated: handbook"]),
    ('[retrieval]\nk = 0\n', ["retrieval.k", "greater than or equal to 1"]),
    ('[[sources]]\nname = "w"\ntype = "web"\n', ["sources[0]", "`urls` or a `sitemap`"]),
    ('[[sources]]\nname = "w"\ntype = "web"\nurls = ["ftp://x/y"]\n', ["not an http(s) URL"]),
    ('[[sources]\nname="x"', ["not valid TOML"]),
])
def test_bad_config_names_file_key_and_allowed(tmp_path: Path, body: str,
                                               expected: list[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    message = str(err.value)
    assert str(cfg) in message
    for part in expected:
        assert part in message


NO_PATH = "sources[0].url: Value error, must contain {path}"
FIX = "e.g. https://github.com/org/repo/blob/main/{path}"


@pytest.mark.parametrize("body", [
    CONTRACT.replace("{path}", ""),
    CONTRACT.replace("{path}", "?v={version}"),
    '[[sources]]\nname = "w"\ntype = "web"\nurls = ["https://wiki.example/"]\n'
    'url = "https://wiki.example/handbook"\n',
    '[[sources]]\nname = "g"\ntype = "git"\nrepo = "https://git.example/hb.git"\n'
    'url = "https://git.example/hb/blob/{version}/"\n',
])
def test_url_template_without_path_is_rejected_with_the_fix(tmp_path: Path, body: str) -> None:
    """Without {path} every citation of the source would link to one page (the repository
    root): an error at load, naming the key and showing a template that works."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert NO_PATH in str(err.value) and FIX in str(err.value)


@pytest.mark.parametrize("url", ["https://github.com/org/hb/blob/{version}/{path}",
                                 "https://docs.example.com/{path}?v={version}",
                                 "file:///srv/handbook/{path}"])
def test_url_templates_with_path_still_load(tmp_path: Path, url: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONTRACT.replace("https://github.com/org/handbook/blob/main/{path}", url))
    assert load_settings(cfg).source("handbook").url == url


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_source_lists_configured(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONTRACT)
    with pytest.raises(ConfigError, match="configured sources: handbook"):
        load_settings(cfg).source("wiki")
