"""The deployment files under deploy/: they parse, reference only what exists, and agree
with each other, with the Makefile and with the application's settings.

Nothing here needs a Docker engine or a cluster. `kubectl kustomize` is run when kubectl
is installed, and skipped otherwise.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel

import bot.settings
from bot.settings import AppSettings, load_app_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
CONFIG = DEPLOY / "config" / "policybot.toml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
DOCKERIGNORE = DEPLOY / "docker" / "Dockerfile.dockerignore"
LAUNCHER = DEPLOY / "vllm" / "serve-vllm.sh"
K8S = DEPLOY / "k8s"
SECRET_EXAMPLE = K8S / "secret.example.yaml"

BOT_PORT = 3000
VLLM_PORT = 8000
BOT_COMMAND = ["serve", "--http", "--host", "0.0.0.0", "--port", str(BOT_PORT)]
# Read besides the POLICYBOT_ names: the config file's path, and Slack's usual names for
# its secrets (bot/settings.py reads them into the slack.* settings).
EXTRA_ENV = {"POLICYBOT_CONFIG", *bot.settings.SLACK_ENV}
PIP_OPTIONS_WITH_VALUE = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links",
                          "-c", "--constraint", "-t", "--target", "--prefix", "--root",
                          "--platform", "--python-version", "--implementation", "--abi",
                          "--progress-bar", "--cache-dir", "--src", "--upgrade-strategy"}


# ---------------------------------------------------------------- loading the files

@functools.cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def resolve(value: Any) -> str:
    """A compose value with ${VAR:-default} / ${VAR-default} / ${VAR} as they read when
    .env leaves VAR unset."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?]([^}]*))?\}",
                  lambda m: m.group(1) or "", str(value))


def compose_env(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: resolve(v) for k, v in env.items()}


def compose_args(value: Any) -> list[str]:
    args = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
    return [resolve(a) for a in args]


def compose_mounts(svc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each short-syntax volume."""
    out = []
    for entry in svc.get("volumes", []):
        assert isinstance(entry, str), f"use the short volume syntax: {entry!r}"
        parts = entry.split(":")
        assert len(parts) in (2, 3), entry
        out.append((parts[0], parts[1], parts[2] if len(parts) == 3 else "rw"))
    return out


def env_example() -> dict[str, str]:
    """Every KEY=value of .env.example, the commented-out optional ones included."""
    found = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(\S*)", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def env_example_active() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line))


@functools.cache
def k8s_files() -> dict[str, list[dict[str, Any]]]:
    return {p.name: [d for d in yaml.safe_load_all(p.read_text(encoding="utf-8")) if d]
            for p in sorted(K8S.glob("*.yaml"))}


def k8s_objects() -> list[dict[str, Any]]:
    """Every object a deployment applies: the kustomization's and the example Secrets."""
    return [d for name, docs in k8s_files().items() if name != "kustomization.yaml"
            for d in docs]


def k8s_get(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} definitions"
    return found[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def workloads() -> Iterator[dict[str, Any]]:
    return (o for o in k8s_objects() if o["kind"] in ("Deployment", "StatefulSet"))


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    return spec.get("initContainers", []) + spec["containers"]


def container(kind: str, name: str) -> dict[str, Any]:
    return pod_spec(k8s_get(kind, name))["containers"][0]


def k8s_env(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def configmap_toml(tmp_path: Path) -> Path:
    path = tmp_path / "policybot.toml"
    path.write_text(k8s_get("ConfigMap", "policybot-config")["data"]["policybot.toml"],
                    encoding="utf-8")
    return path


def flag(args: list[str], name: str) -> list[str]:
    """The values after ``name`` up to the next option; [] when absent."""
    if name not in args:
        return []
    rest = args[args.index(name) + 1:]
    values = []
    for a in rest:
        if a.startswith("--"):
            break
        values.append(a)
    return values


def port_of(url: str) -> int | None:
    return urlsplit(url).port


# ---------------------------------------------------------------- the app's settings

def _model_in(annotation: Any) -> type[BaseModel] | None:
    for t in (annotation, *get_args(annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _is_dict(annotation: Any) -> bool:
    return get_origin(annotation) is dict or any(get_origin(a) is dict
                                                 for a in get_args(annotation))


@functools.cache
def accepted_env() -> tuple[frozenset[str], frozenset[str]]:
    """Variable names the settings read (POLICYBOT_ prefix, __ nesting), and prefixes under
    which any name is read (dict-valued settings)."""
    names, prefixes = set(EXTRA_ENV), set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for field_name, field in model.model_fields.items():
            name = prefix + field_name.upper()
            names.add(name)
            sub = _model_in(field.annotation)
            if sub is not None:
                walk(sub, name + "__")
            elif _is_dict(field.annotation):
                prefixes.add(name + "__")

    walk(AppSettings, "POLICYBOT_")
    return frozenset(names), frozenset(prefixes)


def app_reads(name: str) -> bool:
    names, prefixes = accepted_env()
    return name in names or any(name.startswith(p) for p in prefixes)


def expected_lora_rank() -> int:
    adapter_settings = getattr(bot.settings, "AdapterSettings", None)
    if adapter_settings is None:
        return 16
    return adapter_settings.model_fields["max_lora_rank"].default


# ---------------------------------------------------------------- Dockerfile and Makefile

def dockerfile() -> list[tuple[int, str, str]]:
    """(stage, INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    out, stage, buf = [], -1, ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not buf):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        line, buf = buf + line, ""
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stage += 1
        out.append((stage, instruction, args.strip()))
    return out


def final_stage(instruction: str) -> list[str]:
    steps = dockerfile()
    last = max(s for s, _, _ in steps)
    return [a for s, i, a in steps if s == last and i == instruction]


def pip_installs(command_lines: list[str]) -> list[list[str]]:
    """The requirements each ``pip install`` of these shell lines names, in order
    (``-e X`` counts as requirement X; options and their values are skipped)."""
    installs = []
    for line in command_lines:
        for part in re.split(r"&&|\|\||;", line):
            tokens = shlex.split(part)
            try:
                at = tokens.index("install")
            except ValueError:
                continue
            if not any(t == "pip" or t.endswith("/pip") for t in tokens[:at]):
                continue
            reqs, skip = [], False
            for tok in tokens[at + 1:]:
                if skip:
                    skip = False
                elif tok in PIP_OPTIONS_WITH_VALUE:
                    skip = True
                elif not tok.startswith("-"):
                    reqs.append(tok)
            if reqs != ["pip"]:  # upgrading pip itself installs nothing of the project
                installs.append(reqs)
    return installs


def makefile_installs() -> list[list[str]]:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    return pip_installs([ln.strip() for ln in lines if ln.startswith("\t")])


def dockerfile_installs() -> list[list[str]]:
    return pip_installs([a for _, i, a in dockerfile() if i == "RUN"])


def json_array(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"use the exec (JSON) form: {args}"
    return value


# ================================================================ compose

def test_compose_services() -> None:
    services = compose()["services"]
    assert {"bot", "vllm", "postgres", "scheduler"} <= set(services)
    assert service("postgres").get("profiles") == ["postgres"]
    assert service("scheduler").get("profiles"), "the scheduler is optional (a profile)"
    assert "profiles" not in service("bot") and "profiles" not in service("vllm")

    assert compose_args(service("bot")["command"]) == BOT_COMMAND
    assert compose_args(service("scheduler")["command"]) == ["scheduler"]
    assert service("scheduler")["healthcheck"] == {"disable": True}, \
        "the image's /healthz check means nothing for `policybot scheduler`"
    assert service("bot")["depends_on"]["vllm"]["condition"] == "service_healthy"
    postgres_dep = service("bot")["depends_on"]["postgres"]
    assert postgres_dep == {"condition": "service_healthy", "required": False}

    vllm = service("vllm")
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert vllm.get("ipc") == "host" or vllm.get("shm_size")

    pg = service("postgres")
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert any(t == "/var/lib/postgresql/data" for _, t, _ in compose_mounts(pg))


def test_compose_paths_exist() -> None:
    declared = set(compose().get("volumes") or {})
    for name, svc in compose()["services"].items():
        build = svc.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / "pyproject.toml").is_file(), f"{name}: build context {context}"
            assert (context / build["dockerfile"]).resolve() == DOCKERFILE
        env_files = svc.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = DEPLOY / (env_file if isinstance(env_file, str) else env_file["path"])
            # A file of secrets is not in the repository; its documented template is.
            assert path.is_file() or path.with_name(path.name + ".example").is_file(), path
        for source, target, mode in compose_mounts(svc):
            assert mode in ("ro", "rw"), f"{name}: {source}:{target}:{mode}"
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: bind mount source {source}"
            else:
                assert source in declared, f"{name}: volume {source!r} not declared"
    gitignore = (DEPLOY / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/.env" in gitignore, "the filled-in .env must never be committed"


def test_compose_config_file_is_mounted_read_only() -> None:
    for name in ("bot", "scheduler"):
        svc = service(name)
        config_path = compose_env(svc)["POLICYBOT_CONFIG"]
        mounts = {t: (s, m) for s, t, m in compose_mounts(svc)}
        source, mode = mounts[config_path]
        assert (DEPLOY / source).resolve() == CONFIG and mode == "ro"


def test_compose_vllm_uses_the_launcher() -> None:
    vllm = service("vllm")
    entrypoint = compose_args(vllm["entrypoint"])
    assert entrypoint[0] == "bash"
    mounts = {t: (s, m) for s, t, m in compose_mounts(vllm)}
    source, mode = mounts[entrypoint[1]]
    assert (DEPLOY / source).resolve() == LAUNCHER and mode == "ro"


# ================================================================ images

def all_images() -> Iterator[tuple[str, str]]:
    for name, svc in compose()["services"].items():
        yield f"compose {name}", svc["image"]
    for obj in workloads():
        for c in containers(obj):
            yield f"k8s {obj['metadata']['name']}/{c['name']}", c["image"]


def test_images_are_the_project_or_pinned_upstream() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    built = {svc["image"] for svc in compose()["services"].values() if svc.get("build")}
    assert built == {f"policybot:{version}"}
    for where, image in all_images():
        assert "@" not in image or re.search(r"@sha256:[0-9a-f]{64}$", image), where
        repo, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image,
                                                                                         "", "")
        assert tag and tag != "latest", f"{where}: {image} is not pinned to a version"
        if repo.rsplit("/", 1)[-1] == "policybot":
            assert image in built, f"{where}: {image} is not the image compose builds"
        else:
            assert re.search(r"\d", tag), f"{where}: {image}: tag names no version"
    kustomization = k8s_files()["kustomization.yaml"][0]
    assert [i["name"] for i in kustomization["images"]] == ["policybot"]
    assert kustomization["images"][0]["newTag"] == version


def test_vllm_image_is_the_same_everywhere() -> None:
    images = {service("vllm")["image"], container("Deployment", "vllm")["image"]}
    assert len(images) == 1
    assert re.fullmatch(r"vllm/vllm-openai:v\d+\.\d+\.\d+", images.pop())


# ================================================================ environment variables

def test_env_name_walker_knows_the_settings() -> None:
    for name in ("POLICYBOT_HOME", "POLICYBOT_GENERATOR__BASE_URL",
                 "POLICYBOT_SLACK__RUN_SCHEDULER", "POLICYBOT_ADAPTERS__MAX_LORA_RANK",
                 "POLICYBOT_ADAPTERS__PATHS__POLICY", "SLACK_BOT_TOKEN"):
        assert app_reads(name), name
    for name in ("POLICYBOT_GENERATOR__BASEURL", "POLICYBOT_SLACK__TOKEN", "SLACK_TOKEN"):
        assert not app_reads(name), name


def env_names_set() -> Iterator[tuple[str, str]]:
    for name, svc in compose()["services"].items():
        for var in compose_env(svc):
            yield f"compose {name}", var
    for var in env_example():
        yield ".env.example", var
    for obj in workloads():
        for c in containers(obj):
            for var in k8s_env(c):
                yield f"k8s {obj['metadata']['name']}/{c['name']}", var
    for env in final_stage("ENV"):
        for pair in shlex.split(env):
            yield "Dockerfile", pair.split("=", 1)[0]


def test_every_policybot_and_slack_variable_is_read_by_the_app() -> None:
    checked = 0
    for where, var in env_names_set():
        if var.startswith(("POLICYBOT_", "SLACK_")):
            checked += 1
            assert app_reads(var), f"{where}: {var} is not a setting the application reads"
    assert checked > 20


def test_env_example_has_every_variable_with_placeholders() -> None:
    example = env_example()
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                "POLICYBOT_SLACK_API_URL", "POLICYBOT_GENERATOR__API_KEY",
                "POLICYBOT_DATABASE_URL", "POLICYBOT_LANCEDB_URI",
                "POLICYBOT_SLACK__RUN_SCHEDULER", "POLICYBOT_ADAPTERS__DEFAULT"):
        assert var in example, var
    # Every ${VAR} compose.yaml interpolates is documented there.
    for var in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text()):
        assert var in example, f"compose.yaml uses ${{{var}}}; document it in .env.example"
    # Real Slack tokens look like xoxb-123-...; the examples must not.
    for path in (ENV_EXAMPLE, SECRET_EXAMPLE):
        assert not re.search(r"\bx(ox[abpr]|app)-\d", path.read_text()), path


def test_example_secrets_are_refused_by_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Left unedited, the examples stop the bot at start instead of failing later."""
    from bot.slack import secrets
    from indexer.errors import ConfigError

    k8s = k8s_get("Secret", "policybot-secrets")["stringData"]
    examples = [env_example(), {"SLACK_BOT_TOKEN": k8s["slack-bot-token"],
                                "SLACK_SIGNING_SECRET": k8s["slack-signing-secret"]}]
    real_looking = {"SLACK_BOT_TOKEN": "xoxb-1234-5678-AbCdEfGhIjKl",
                    "SLACK_SIGNING_SECRET": "0123456789abcdef" * 2,
                    "SLACK_APP_TOKEN": "xapp-1-A111-2222-abcdef"}

    def load_secrets(env: dict[str, str], socket_mode: bool = False) -> Any:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return secrets.load_secrets(load_app_settings().slack, socket_mode)

    for env in examples:
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            trial = {**real_looking, name: env[name]}
            with pytest.raises(ConfigError, match=name):
                load_secrets(trial)
        if "SLACK_APP_TOKEN" in env:
            trial = {**real_looking, "SLACK_APP_TOKEN": env["SLACK_APP_TOKEN"]}
            with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
                load_secrets(trial, socket_mode=True)
    load_secrets(real_looking)  # the trial values themselves pass


# ================================================================ ports and URLs

def test_bot_port_lines_up() -> None:
    assert final_stage("EXPOSE") == [str(BOT_PORT)]
    assert json_array(final_stage("CMD")[-1]) == BOT_COMMAND
    assert json_array(final_stage("ENTRYPOINT")[-1]) == ["policybot"]
    healthcheck = final_stage("HEALTHCHECK")[-1]
    assert f"http://127.0.0.1:{BOT_PORT}/healthz" in healthcheck

    assert [p.rsplit(":", 1)[-1] for p in service("bot")["ports"]] == [str(BOT_PORT)]

    bot = container("Deployment", "policybot")
    assert bot["args"] == BOT_COMMAND
    assert [p["containerPort"] for p in bot["ports"]] == [BOT_PORT]
    assert bot["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": BOT_PORT}
    svc = k8s_get("Service", "policybot")
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == [BOT_PORT]

    ingress = k8s_get("Ingress", "policybot")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert [p["path"] for p in paths] == ["/slack/events"]
    backend = paths[0]["backend"]["service"]
    assert backend["name"] == "policybot"
    assert backend["port"]["number"] in [p["port"] for p in svc["spec"]["ports"]]


def test_slack_manifest_urls_reach_the_ingress() -> None:
    text = (DEPLOY / "slack" / "manifest.yaml").read_text(encoding="utf-8")
    urls = re.findall(r"https://[^\s\"']+", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    assert urls
    ingress = k8s_get("Ingress", "policybot")
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname in hosts and parts.path in paths, url


def test_vllm_port_lines_up() -> None:
    vllm = service("vllm")
    assert flag(compose_args(vllm["command"]), "--port") == [str(VLLM_PORT)]
    assert f"http://localhost:{VLLM_PORT}/health" in " ".join(vllm["healthcheck"]["test"])
    assert [str(p) for p in vllm["expose"]] == [str(VLLM_PORT)]

    c = container("Deployment", "vllm")
    assert flag(c["args"], "--port") == [str(VLLM_PORT)]
    assert [p["containerPort"] for p in c["ports"]] == [VLLM_PORT]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": VLLM_PORT}, probe
    svc = k8s_get("Service", "vllm")
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == \
        [(VLLM_PORT, VLLM_PORT)]


def bot_base_urls(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(where, base URL, the vLLM host that URL must name)."""
    yield "compose env", compose_env(service("bot"))["POLICYBOT_GENERATOR__BASE_URL"], "vllm"
    yield "compose config", load_app_settings(CONFIG).generator.base_url, "vllm"
    k8s_bot = k8s_env(container("Deployment", "policybot"))
    yield "k8s env", k8s_bot["POLICYBOT_GENERATOR__BASE_URL"], "vllm"
    yield "k8s config", load_app_settings(configmap_toml(tmp_path)).generator.base_url, "vllm"


def test_bot_reaches_vllm_on_its_port(tmp_path: Path) -> None:
    assert "vllm" in compose()["services"]
    k8s_get("Service", "vllm")
    for where, url, host in bot_base_urls(tmp_path):
        parts = urlsplit(url)
        assert (parts.hostname, parts.port, parts.path) == (host, VLLM_PORT, "/v1"), where


def test_database_url_points_at_the_postgres_service() -> None:
    for where, url in (
            (".env.example", env_example()["POLICYBOT_DATABASE_URL"]),
            ("secret.example.yaml",
             k8s_get("Secret", "policybot-secrets")["stringData"]["database-url"])):
        parts = urlsplit(url)
        assert parts.scheme == "postgresql+psycopg", where
        assert (parts.hostname, parts.port, parts.path) == ("postgres", 5432, "/policybot"), \
            where
    assert "postgres" in compose()["services"]
    assert k8s_get("Service", "postgres")["spec"]["ports"][0]["port"] == 5432


# ================================================================ vLLM flags

def vllm_setups(tmp_path: Path) -> Iterator[tuple[str, list[str], dict[str, str], str,
                                                  AppSettings]]:
    """(where, vLLM arguments, vLLM env, the bot's POLICYBOT_GENERATOR__MODEL, bot config)."""
    yield ("compose", compose_args(service("vllm")["command"]), compose_env(service("vllm")),
           compose_env(service("bot"))["POLICYBOT_GENERATOR__MODEL"], load_app_settings(CONFIG))
    c = container("Deployment", "vllm")
    yield ("k8s", c["args"], k8s_env(c),
           k8s_env(container("Deployment", "policybot"))["POLICYBOT_GENERATOR__MODEL"],
           load_app_settings(configmap_toml(tmp_path)))


def test_vllm_serves_what_the_bot_asks_for(tmp_path: Path) -> None:
    rank = expected_lora_rank()
    models = set()
    for where, args, env, bot_model, settings in vllm_setups(tmp_path):
        assert not args[0].startswith("-"), f"{where}: the model goes first, positionally"
        models.add(args[0])
        assert "--enable-lora" in args, where
        assert flag(args, "--max-lora-rank") == [str(rank)], where
        assert settings.adapters.max_lora_rank == rank, where
        served = flag(args, "--served-model-name")
        assert served == [bot_model] == [settings.generator.model], where
        modules = dict(m.split("=", 1) for m in flag(args, "--lora-modules"))
        assert modules, f"{where}: --lora-modules"
        assert modules == {k: str(v) for k, v in settings.adapters.paths.items()}, where
        assert all(p.startswith("/adapters/") for p in modules.values()), where
        assert int(flag(args, "--max-loras")[0]) >= len(modules), where
        assert int(flag(args, "--max-model-len")[0]) >= settings.generator.context_tokens, where
        assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True", where
        assert settings.generator.backend == "openai", where
    assert models == {env_example()["VLLM_MODEL"]}, "one base model everywhere"


def test_adapters_are_mounted_read_only_where_vllm_looks() -> None:
    for name in ("vllm", "bot"):
        mounts = {t: (s, m) for s, t, m in compose_mounts(service(name))}
        source, mode = mounts["/adapters"]
        assert (DEPLOY / source).resolve() == DEPLOY / "adapters" and mode == "ro", name
    for name in ("vllm", "policybot"):
        obj = k8s_get("Deployment", name)
        mount = next(m for m in pod_spec(obj)["containers"][0]["volumeMounts"]
                     if m["mountPath"] == "/adapters")
        assert mount.get("readOnly") is True, name
        volume = next(v for v in pod_spec(obj)["volumes"] if v["name"] == mount["name"])
        assert volume["persistentVolumeClaim"]["claimName"] == "policybot-adapters", name


def test_k8s_launcher_is_the_compose_launcher() -> None:
    c = container("Deployment", "vllm")
    assert c["command"] == ["bash", "/opt/policybot/serve-vllm.sh"]
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/opt/policybot")
    volume = next(v for v in pod_spec(k8s_get("Deployment", "vllm"))["volumes"]
                  if v["name"] == mount["name"])
    data = k8s_get("ConfigMap", volume["configMap"]["name"])["data"]
    assert data["serve-vllm.sh"] == LAUNCHER.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_launcher_serves_only_adapters_that_exist(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "vllm"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    fake.chmod(0o755)
    present = tmp_path / "adapters" / "policy"
    present.mkdir(parents=True)
    (present / "adapter_config.json").write_text("{}")
    missing = tmp_path / "adapters" / "hr"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "VLLM_API_KEY": "0123456789abcdef" * 2}

    def launch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(LAUNCHER), *args], env=env, capture_output=True,
                              text=True, check=True, timeout=30)

    run = launch("base", "--enable-lora", "--lora-modules", f"policy={present}",
                 f"hr={missing}", "--max-loras", "4")
    assert run.stdout.splitlines() == ["serve", "base", "--enable-lora", "--max-loras", "4",
                                       "--lora-modules", f"policy={present}"]
    assert "'hr' not served" in run.stderr

    run = launch("base", "--lora-modules", f"hr={missing}", "--enable-lora")
    assert run.stdout.splitlines() == ["serve", "base", "--enable-lora"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("key", [None, "", "change-me-to-a-long-random-string", "short"])
def test_launcher_refuses_to_start_vllm_without_a_real_api_key(tmp_path: Path,
                                                               key: str | None) -> None:
    """Without a key vLLM would serve /v1/load_lora_adapter to anyone who reaches it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vllm").write_text('#!/bin/sh\necho started\n')
    (bin_dir / "vllm").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "VLLM_API_KEY"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    if key is not None:
        env["VLLM_API_KEY"] = key
    run = subprocess.run(["bash", str(LAUNCHER), "base"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 64 and "started" not in run.stdout
    assert "VLLM_API_KEY" in run.stderr
    env["VLLM_API_KEY"] = "0123456789abcdef" * 2
    run = subprocess.run(["bash", str(LAUNCHER), "base"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0 and run.stdout.strip() == "started"


# ================================================================ vLLM: key and network

def secret_ref(c: dict[str, Any], var: str) -> dict[str, Any]:
    """The secretKeyRef ``var`` of container ``c`` is read from (fails if a literal)."""
    found = [e for e in c.get("env", []) if e["name"] == var]
    assert len(found) == 1, f"{c['name']}: {var} is set {len(found)} times"
    ref = (found[0].get("valueFrom") or {}).get("secretKeyRef")
    assert ref, f"{c['name']}: {var} must come from a Secret, not a literal"
    return ref


def push_job() -> dict[str, Any]:
    jobs = [o for o in k8s_objects() if o["kind"] == "Job"]
    assert len(jobs) == 1, "one adapter push Job example"
    return jobs[0]


def test_vllm_requires_the_api_key_from_a_secret_and_its_clients_send_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    vllm_ref = secret_ref(container("Deployment", "vllm"), "VLLM_API_KEY")
    assert not vllm_ref.get("optional"), "vLLM must not start without its key"
    secret = k8s_get("Secret", vllm_ref["name"])
    assert vllm_ref["key"] in secret["stringData"], "the example Secret defines the key"
    job = push_job()
    clients = {"bot": container("Deployment", "policybot"),
               "push job": pod_spec(job)["containers"][0]}
    for where, c in clients.items():
        ref = secret_ref(c, "POLICYBOT_GENERATOR__API_KEY")
        assert ref == vllm_ref, f"{where} sends the key vLLM requires"
        assert k8s_env(c)["POLICYBOT_GENERATOR__BASE_URL"] == "http://vllm:8000/v1", where
    assert pod_spec(job)["containers"][0]["args"][:2] == ["adapters", "push"]
    # Compose: vLLM gets the very variable the bot reads (from .env, active in the example).
    assert service("vllm")["environment"]["VLLM_API_KEY"].startswith(
        "${POLICYBOT_GENERATOR__API_KEY")
    assert "POLICYBOT_GENERATOR__API_KEY" in env_example_active()
    assert service("bot")["env_file"] == ".env"
    # That variable is the key the generator and `adapters push` send.
    monkeypatch.setenv("POLICYBOT_GENERATOR__API_KEY", "k" * 32)
    assert load_app_settings(CONFIG).generator.api_key.get_secret_value() == "k" * 32


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are checked here"
    return selector.get("matchLabels", {}).items() <= labels.items() and bool(selector)


def test_network_policy_lets_only_the_bot_and_the_push_job_reach_vllm() -> None:
    policies = [o for o in k8s_objects() if o["kind"] == "NetworkPolicy"]
    pods = {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
            for o in workloads()}
    pods["adapter push job"] = push_job()["spec"]["template"]["metadata"]["labels"]
    vllm_labels = pods["vllm"]
    guarding = [p for p in policies if _selects(p["spec"]["podSelector"], vllm_labels)]
    assert len(guarding) == 1, "one NetworkPolicy selects the vLLM pods"
    spec = guarding[0]["spec"]
    assert "Ingress" in spec["policyTypes"]
    port = container("Deployment", "vllm")["ports"][0]["containerPort"]
    allowed: set[str] = set()
    for rule in spec["ingress"]:
        assert rule.get("from"), "a rule without `from` would admit every pod"
        assert [p["port"] for p in rule["ports"]] == [port]
        for peer in rule["from"]:
            assert set(peer) == {"podSelector"}, f"only pods of this namespace: {peer}"
            assert peer["podSelector"].get("matchLabels"), "an empty selector admits all"
            allowed |= {name for name, labels in pods.items()
                        if _selects(peer["podSelector"], labels)}
    assert allowed == {"policybot", "adapter push job"}, allowed
    assert "networkpolicy.yaml" in k8s_files()["kustomization.yaml"][0]["resources"]


# ================================================================ Dockerfile

def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    froms = [a for _, i, a in dockerfile() if i == "FROM"]
    assert len(froms) >= 2
    assert froms[0].split()[0] == froms[-1].split()[0] == "python:3.11-slim", \
        "the builder's venv must find the same interpreter at run time"
    assert any(i == "COPY" and a.startswith("--from=") for _, i, a in dockerfile())
    users = final_stage("USER")
    assert users, "the runtime stage needs a USER"
    assert users[-1].split(":")[0] not in ("root", "0")

    healthcheck = final_stage("HEALTHCHECK")
    assert len(healthcheck) == 1 and "/healthz" in healthcheck[0]
    assert "python" in healthcheck[0] and not re.search(r"\b(curl|wget)\b", healthcheck[0])

    env = dict(pair.split("=", 1) for e in final_stage("ENV") for pair in shlex.split(e))
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["POLICYBOT_HOME"] == "/data"
    assert json_array(final_stage("VOLUME")[-1]) == ["/data"]


def test_dockerfile_installs_torch_first_like_the_makefile() -> None:
    make = makefile_installs()
    docker = dockerfile_installs()
    assert len(make) == 2 and len(docker) == 2, (make, docker)
    # The same pinned torch, alone and first; then the project with extras.
    assert docker[0] == make[0]
    assert len(make[0]) == 1 and make[0][0].startswith("torch==")
    project = re.compile(r"^\.(\[[a-z,]+\])?$")
    assert all(project.match(r) for r in make[1]), make[1]
    assert docker[1] == [".[postgres]"]

    pins = [d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"] if d.startswith("torch")]
    assert pins == make[0], "the Makefile installs the torch pyproject.toml pins"

    torch_run = next(a for _, i, a in dockerfile() if i == "RUN" and "torch==" in a)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in torch_run


def test_dockerignore_lets_through_what_the_dockerfile_copies() -> None:
    patterns = [ln.strip() for ln in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if ln.strip() and not ln.startswith("#")]
    assert patterns[0] == "*", "start from nothing and list what the build needs"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for _, instruction, args in dockerfile():
        if instruction != "COPY" or args.startswith("--from="):
            continue
        sources = shlex.split(args)[:-1]
        for source in sources:
            assert source.rstrip("/") in included, f"COPY {source} is excluded"
            assert (ROOT / source).exists(), source


# ================================================================ configuration

def test_compose_config_loads() -> None:
    settings = load_app_settings(CONFIG)
    assert settings.generator.backend == "openai"
    assert [s.name for s in settings.sources] == ["handbook"]
    # The directory source reads the folder compose.yaml mounts there.
    mounts = {t: s for s, t, _ in compose_mounts(service("bot"))}
    source = settings.sources[0]
    assert (DEPLOY / mounts[str(source.path)]).is_dir()
    if settings.adapters.default:
        assert settings.adapters.default in settings.adapters.paths


def test_k8s_config_loads(tmp_path: Path) -> None:
    settings = load_app_settings(configmap_toml(tmp_path))
    assert settings.generator.backend == "openai"
    assert all(s.schedule for s in settings.sources), "only the scheduler syncs in k8s"


def test_settings_load_with_the_deployment_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables each deployment sets validate together with its config file."""
    for var, value in {**env_example_active(), **compose_env(service("bot"))}.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("POLICYBOT_CONFIG")
    settings = load_app_settings(CONFIG)
    assert settings.generator.model == "policybot-base"

    for var in list(os.environ):
        if var.startswith("POLICYBOT_"):
            monkeypatch.delenv(var)
    secrets = k8s_get("Secret", "policybot-secrets")["stringData"]
    for name in ("policybot", "policybot-scheduler"):
        for var, value in k8s_env(container("Deployment", name)).items():
            if isinstance(value, dict):
                ref = value["secretKeyRef"]
                if ref["key"] not in secrets:
                    continue
                value = secrets[ref["key"]]
            monkeypatch.setenv(var, value)
        monkeypatch.delenv("POLICYBOT_CONFIG")
        settings = load_app_settings(configmap_toml(tmp_path))
        assert settings.slack.run_scheduler is False, name
        assert settings.database_url and settings.database_url.startswith("postgresql+psycopg")


# ================================================================ Kubernetes

def test_k8s_manifests_parse_and_are_all_listed() -> None:
    files = k8s_files()
    for name, docs in files.items():
        assert docs, name
        for d in docs:
            assert d.get("apiVersion") and d.get("kind"), name
            assert d["kind"] == "Kustomization" or d["metadata"].get("name"), name
    kustomization = files["kustomization.yaml"][0]
    assert kustomization["kind"] == "Kustomization"
    listed = set(kustomization["resources"])
    examples = {name for name in files if name.endswith(".example.yaml")}
    assert examples == {"secret.example.yaml", "adapter-push.example.yaml"}
    assert listed == set(files) - {"kustomization.yaml"} - examples, \
        "every manifest but the examples (Secrets, the one-off push Job) is applied"
    kinds = {o["kind"] for o in k8s_objects()}
    assert {"Namespace", "Deployment", "Service", "Ingress", "StatefulSet", "ConfigMap",
            "PersistentVolumeClaim", "Secret"} <= kinds


def test_k8s_references_resolve() -> None:
    defined = {(o["kind"], o["metadata"]["name"]) for o in k8s_objects()}
    secret_keys = {o["metadata"]["name"]: set(o.get("stringData", {})) | set(o.get("data", {}))
                   for o in k8s_objects() if o["kind"] == "Secret"}
    for obj in workloads():
        where = obj["metadata"]["name"]
        spec = pod_spec(obj)
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        volumes.update({t["metadata"]["name"]: t for t in
                        obj["spec"].get("volumeClaimTemplates", [])})
        for v in spec.get("volumes", []):
            if "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"]["claimName"]
                assert ("PersistentVolumeClaim", claim) in defined, f"{where}: {claim}"
            if "configMap" in v:
                assert ("ConfigMap", v["configMap"]["name"]) in defined, where
        for c in containers(obj):
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, f"{where}/{c['name']}: volume {m['name']}"
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in secret_keys, f"{where}: Secret {ref['name']}"
                    assert ref.get("optional") or ref["key"] in secret_keys[ref["name"]], \
                        f"{where}: {e['name']} needs key {ref['key']} in {ref['name']}"
        labels = obj["spec"]["template"]["metadata"]["labels"]
        assert obj["spec"]["selector"]["matchLabels"].items() <= labels.items(), where
        if obj["kind"] == "StatefulSet":
            assert ("Service", obj["spec"]["serviceName"]) in defined
    pod_labels = [w["spec"]["template"]["metadata"]["labels"] for w in workloads()]
    for svc in (o for o in k8s_objects() if o["kind"] == "Service"):
        selector = svc["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pod_labels), \
            f"Service {svc['metadata']['name']} selects no pods"


def test_k8s_bot_scheduler_and_vllm_roles() -> None:
    bot_deploy = k8s_get("Deployment", "policybot")
    assert bot_deploy["spec"]["replicas"] >= 2
    bot_env = k8s_env(pod_spec(bot_deploy)["containers"][0])
    assert bot_env["POLICYBOT_SLACK__RUN_SCHEDULER"] == "false"
    assert bot_env["SLACK_SIGNING_SECRET"]["secretKeyRef"]
    assert pod_spec(bot_deploy)["securityContext"]["runAsNonRoot"] is True

    scheduler = k8s_get("Deployment", "policybot-scheduler")
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    assert pod_spec(scheduler)["containers"][0]["args"] == ["scheduler"]
    # Bot and scheduler share one index.
    claims = [{v["persistentVolumeClaim"]["claimName"] for v in pod_spec(d)["volumes"]
               if "persistentVolumeClaim" in v} for d in (bot_deploy, scheduler)]
    assert "policybot-data" in claims[0] & claims[1]
    data = k8s_get("PersistentVolumeClaim", "policybot-data")
    assert data["spec"]["accessModes"] == ["ReadWriteMany"]

    vllm = k8s_get("Deployment", "vllm")
    c = pod_spec(vllm)["containers"][0]
    assert c["resources"]["limits"]["nvidia.com/gpu"] >= 1
    assert pod_spec(vllm).get("nodeSelector") or pod_spec(vllm).get("tolerations")
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600, \
        "loading the model takes minutes"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds() -> None:
    out = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    objects = [d for d in yaml.safe_load_all(out.stdout) if d]
    expected = sum(len(docs) for name, docs in k8s_files().items()
                   if name != "kustomization.yaml" and not name.endswith(".example.yaml"))
    assert len(objects) == expected
    assert all(o["metadata"].get("namespace") == "policybot" for o in objects
               if o["kind"] != "Namespace")
