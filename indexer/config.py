"""Configuration: environment (``POLICYBOT_`` prefix) over a TOML file over defaults.

The TOML file comes from ``--config FILE`` or ``POLICYBOT_CONFIG``. Every mistake is
reported with the file, the key and what is allowed, because the person reading the
message is an admin editing that file.
"""

from __future__ import annotations

import functools
import operator
import os
import re
import string
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

from indexer.errors import ConfigError
from indexer.parsing.formats import default_include

# The extensions of every registered document format (indexer/parsing/formats.py).
DEFAULT_INCLUDE = default_include()
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
AUDIENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$")
URL_FIELDS = {"path", "version"}
DEFAULT_MAX_FILE_BYTES = 25_000_000  # 25 MB: far above any policy, far below a RAM problem
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@")
_USERINFO_ANYWHERE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]*@")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def reject_userinfo(url: str) -> str:
    """A ``user:pass@`` URL would put the secret in every citation link and log line."""
    if _USERINFO.match(url):
        raise ValueError("URLs must not carry credentials (user:password@); "
                         "use the source's `auth` option with the secret in an "
                         "environment variable instead")
    return url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_audience(values: list[str]) -> list[str]:
    """Audience names end up in filters, so only plain identifiers are accepted."""
    for v in values:
        if not AUDIENCE_RE.match(v):
            raise ValueError(f"audience {v!r} must be letters, digits and _ . : @ - only")
    return values


class SourceBase(_Strict):
    name: str
    url: str | None = Field(None, description="citation link template with {path}, {version}")
    audience: list[str] = Field(default_factory=list)
    schedule: str | None = Field(None, description="cron ('0 * * * *') or interval ('30m')")
    include: list[str] = Field(default_factory=lambda: list(DEFAULT_INCLUDE))
    exclude: list[str] = Field(default_factory=list)
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, ge=1,
                                description="larger documents are skipped and reported")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("must start with a letter or digit and hold only letters, "
                             "digits, '_', '.' and '-'")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        reject_userinfo(v)
        fields = {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
        if fields - URL_FIELDS:
            raise ValueError(f"unknown placeholder(s) {sorted(fields - URL_FIELDS)}; "
                             "allowed: {path}, {version}")
        if "path" not in fields:  # every citation would link to the same page
            raise ValueError("must contain {path}, so each citation links to its own "
                             "document, e.g. https://github.com/org/repo/blob/main/{path}")
        return v

    @field_validator("audience")
    @classmethod
    def _audience(cls, v: list[str]) -> list[str]:
        return check_audience(v)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str | None) -> str | None:
        if v is not None:
            from indexer.schedule import parse_schedule

            parse_schedule(v)
        return v


class DirectorySourceConfig(SourceBase):
    type: Literal["directory"]
    path: Path


class GitSourceConfig(SourceBase):
    type: Literal["git"]
    repo: str = Field(description="repository URL or local path")
    branch: str = "main"
    subdir: str = ""


class BasicAuth(_Strict):
    """HTTP Basic credentials; the password is read from ``password_env`` at sync time."""

    type: Literal["basic"]
    username: str = Field(min_length=1)
    password_env: str

    @field_validator("password_env")
    @classmethod
    def _env(cls, v: str) -> str:
        return check_env_name(v)


class BearerAuth(_Strict):
    """A bearer token read from the environment variable ``token_env`` at sync time."""

    type: Literal["bearer"]
    token_env: str

    @field_validator("token_env")
    @classmethod
    def _env(cls, v: str) -> str:
        return check_env_name(v)


def check_env_name(v: str) -> str:
    """An environment variable *name*; a secret pasted here by mistake is not echoed."""
    if not ENV_NAME_RE.match(v):
        raise ValueError("must be the name of an environment variable (letters, digits, _)")
    return v


WebAuth = Annotated[BasicAuth | BearerAuth, Field(discriminator="type")]


class WebSourceConfig(SourceBase):
    type: Literal["web"]
    urls: list[str] = Field(default_factory=list)
    sitemap: str | None = None
    concurrency: int = Field(4, ge=1, le=32)
    timeout_s: float = Field(20.0, gt=0, description="connect / per-read timeout")
    fetch_deadline_s: float = Field(60.0, gt=0,
                                    description="wall-clock limit for one page, redirects "
                                                "and body included")
    hosts: list[str] | None = Field(None, description="hosts fetched; default: the hosts "
                                                      "of `urls` and `sitemap`")
    allow_private_network: bool = Field(False, description="let the hosts resolve to "
                                                           "loopback/private addresses")
    auth: WebAuth | None = None
    respect_robots: bool = True
    user_agent: str = "PolicyBot/0.1 (+https://github.com/policybot/policybot)"
    include: list[str] = Field(default_factory=lambda: ["*"])

    @model_validator(mode="after")
    def _seeds(self) -> WebSourceConfig:
        seeds = [*self.urls, *([self.sitemap] if self.sitemap else [])]
        if not seeds:
            raise ValueError("a web source needs `urls` or a `sitemap`")
        for url in seeds:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"{url!r} is not an http(s) URL")
            reject_userinfo(url)
        if self.hosts is not None:
            self.hosts = [h.strip().lower().rstrip(".") for h in self.hosts]
            if not all(self.hosts) or any(re.search(r"[/:@\s]", h) for h in self.hosts):
                raise ValueError("`hosts` holds host names only (no scheme, port or path)")
            missing = sorted({_hostname(u) for u in seeds} - set(self.hosts))
            if missing:
                raise ValueError(f"`hosts` must include the hosts of `urls` and `sitemap`; "
                                 f"missing: {', '.join(missing)}")
        return self

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """Host names this source may fetch from (redirects and sitemap entries included)."""
        seeds = [*self.urls, *([self.sitemap] if self.sitemap else [])]
        return frozenset(self.hosts if self.hosts is not None else map(_hostname, seeds))


def _hostname(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").rstrip(".")


# Source type (the `type` key of a [[sources]] entry) → its settings. Each type has a
# Source class registered under the same name in indexer/sources/__init__.py.
SOURCE_CONFIGS: dict[str, type[SourceBase]] = {
    "directory": DirectorySourceConfig, "git": GitSourceConfig, "web": WebSourceConfig}

# One entry of `sources`: the config class whose `type` the entry names.
_ANY_SOURCE: Any = functools.reduce(operator.or_, SOURCE_CONFIGS.values())
SourceConfig = Annotated[_ANY_SOURCE, Field(discriminator="type")]


class EmbeddingSettings(_Strict):
    model: str = Field("all-MiniLM-L6-v2", description="bundled name, local path or hub id")
    backend: Literal["torch", "onnx", "openvino"] = Field(
        "openvino", description="a graph exported locally and run by OpenVINO (default) or "
        "ONNX Runtime (CPU hosts: several times faster than torch), or torch (GPU hosts)")
    # Each backend's default precision (when `quantize` is not set) is the fastest that
    # measured equal to torch fp32 in retrieval (docs/benchmarks.md sections 10 and 15):
    # OpenVINO: "nncf", static int8 (full sync 2.7x torch, R@1 equal on slack-dev); ONNX Runtime:
    # fp32, since both of its int8 recipes lost slack-dev R@1; torch: fp32.
    # A string names a quantization recipe (indexer.onnx_export.RECIPES); true = "dynamic".
    quantize: bool | Literal["dynamic", "dynamic-ffn-fp32", "nncf"] | None = Field(
        None, description="int8 weights (onnx/openvino only). Unset: the backend's default "
        "('nncf' for openvino, false otherwise); false (fp32); true or 'dynamic' (every "
        "weight MatMul int8, dynamic activations); 'dynamic-ffn-fp32' (FFN outputs kept "
        "fp32); 'nncf' (OpenVINO only: static int8 calibrated on the sample handbook)")
    threads: int | None = Field(None, ge=1, description="CPU threads; default: cores available")
    device: str = "cpu"
    batch_size: int = Field(32, ge=1)
    allow_download: bool = Field(False, description="let a hub id be fetched")
    # A models cache apart from the home: a container image can ship the exported and
    # quantized files, and several homes (test runs, replicas on one host) can share them.
    models_dir: Path | None = Field(None, description="where exported models are cached; "
                                    "default HOME/models")

    @model_validator(mode="after")
    def _quantize_needs_export(self) -> EmbeddingSettings:
        if self.quantize is None:
            self.quantize = "nncf" if self.backend == "openvino" else False
            return self
        if self.backend == "torch" and self.quantize:
            raise ValueError("quantize = true needs backend = 'onnx' or 'openvino'; "
                             "the torch backend runs the fp32 weights")
        if self.quantize == "nncf" and self.backend != "openvino":
            raise ValueError("quantize = 'nncf' makes an OpenVINO model: set backend = "
                             "'openvino', or use quantize = true with ONNX Runtime")
        return self


class ChunkingSettings(_Strict):
    max_tokens: int = Field(256, ge=32, description="hard cap; clipped to the model's limit")
    target_tokens: int = Field(200, ge=16)
    min_tokens: int = Field(60, ge=0, description="sibling sections below this are merged")
    overlap_tokens: int = Field(40, ge=0)
    strip_template_tags: bool = True
    strip_patterns: list[str] = Field(default_factory=list, description="extra regexes")


class ParsingSettings(_Strict):
    """Budget for parsing one document, in a worker process so a bomb costs only itself."""

    isolate: bool = Field(True, description="parse in a worker process with the limits")
    memory_mb: int = Field(1024, ge=64, description="address space one document may add")
    timeout_s: float = Field(120.0, gt=0, description="wall-clock limit per document")


class RetrievalSettings(_Strict):
    k: int = Field(5, ge=1, le=100)
    candidates: int = Field(40, ge=1, le=1000)
    max_per_doc: int = Field(2, ge=1)
    rrf_k: int = Field(60, ge=1)
    neighbours: bool = True
    clean_query: bool = Field(True, description="strip Slack chatter before searching")
    vector_weight: float = Field(1.0, ge=0, description="weight of the vector ranks in fusion")
    bm25_weight: float = Field(1.0, ge=0, description="weight of the BM25 ranks in fusion")


class IndexSettings(_Strict):
    table: str = "chunks"
    vector_index_min_rows: int = Field(50_000, ge=256)
    lock_timeout_s: float = Field(600.0, ge=0)
    scheduler_standby_s: float = Field(
        15.0, gt=0, description="how often a replica that does not run the sync schedule "
        "checks whether the one that does is gone (several replicas: one scheduler runs)")
    read_consistency_s: float = Field(
        0.0, ge=0, description="how stale a search may be: 0 = each search sees the latest "
        "commit of any process (the scheduler's deletions included)")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYBOT_", env_nested_delimiter="__",
                                      extra="forbid")

    home: Path = Path(".policybot")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in home")
    lancedb_uri: str | None = Field(None, description="default: HOME/lancedb")
    sources: list[SourceConfig] = Field(default_factory=list)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    parsing: ParsingSettings = Field(default_factory=ParsingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    log_level: str = "INFO"

    @field_validator("sources")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        names = [s.name for s in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        return v

    @classmethod
    def extra_sources(cls, settings_cls: type[Settings]) -> tuple[Any, ...]:
        """Settings sources between the environment and the file, for an application
        that adds its own (the bot reads Slack's usual variable names)."""
        return ()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'state.db').resolve()}"

    @property
    def lance_uri(self) -> str:
        return self.lancedb_uri or str((self.home / "lancedb").resolve())

    def source(self, name: str) -> Any:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r}; configured sources: {known}")


def _allowed_keys(parts: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    """Field names of the model that holds the last part of an error location."""
    model: Any = root
    for part in parts[:-1]:
        if isinstance(part, int):
            continue
        if part in SOURCE_CONFIGS:
            model = SOURCE_CONFIGS[part]
            continue
        field = model.model_fields.get(part)
        ann = getattr(field, "annotation", None)
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else model
    return sorted(model.model_fields)


def _describe(err: dict[str, Any], root: type[BaseModel]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if str(p) not in SOURCE_CONFIGS)
    loc = re.sub(r"\.(\d+)", r"[\1]", loc)
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key; allowed keys: {', '.join(_allowed_keys(err['loc'], root))}"
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return _bad_type(loc, err)
    got = err.get("input")
    if isinstance(got, str):  # never echo a credential back into a log or a terminal
        got = _USERINFO_ANYWHERE.sub(r"\1***@", got)
    secret = str(err["loc"][-1]).endswith("_env") if err["loc"] else False
    shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) and not secret \
        else ""
    return f"{loc}: {err['msg']}{shown}"


def _bad_type(loc: str, err: dict[str, Any]) -> str:
    """An unknown or missing ``type`` (of a source, of a web source's auth), naming the
    allowed ones: for a source, every type registered in :data:`SOURCE_CONFIGS`."""
    parts = err["loc"]
    if len(parts) == 2 and parts[0] == "sources":
        what, allowed = "source type", ", ".join(SOURCE_CONFIGS)
    else:
        what = "type"
        allowed = str(err.get("ctx", {}).get("expected_tags", "")).replace("'", "")
    allowed_text = f"; allowed types: {allowed}" if allowed else ""
    if err["type"] == "union_tag_not_found":
        return f"{loc}.type: missing{allowed_text}"
    return f"{loc}.type: unknown {what} {err['ctx']['tag']!r}{allowed_text}"


def load_settings(config_file: str | Path | None = None, settings_cls: type[Settings] = Settings,
                  **overrides: Any) -> Any:
    """Settings from defaults, then the TOML file, then ``POLICYBOT_*`` variables.

    ``settings_cls`` lets the application add its own sections (the generator, Slack)
    to the indexer's without the indexer knowing about them."""
    path = config_file or os.environ.get("POLICYBOT_CONFIG")
    source_name = "environment"
    if path:
        path = Path(path)
        source_name = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc

    class _FromFile(settings_cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                       dotenv_settings, file_secret_settings):
            file = (TomlConfigSettingsSource(settings_cls, toml_file=path),) if path else ()
            return (init_settings, env_settings, *cls.extra_sources(settings_cls), *file)

    try:
        return _FromFile(**overrides)
    except ValidationError as exc:
        lines = [_describe(e, settings_cls) for e in exc.errors()]
        raise ConfigError(f"{source_name}: invalid configuration:\n  " + "\n  ".join(lines)
                          + "\nSee the README's Configuration section for allowed keys.") \
            from None  # pydantic's own text repeats the input values, secrets included
