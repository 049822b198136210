"""The application's settings: the indexer's, plus answering and generator sections.

Each default lives once. Where ``model`` code needs the same value without a settings
object (a generator built in a test, the extractive answer), the default is a named
constant in ``model`` and the field here uses it, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from indexer.config import Settings, check_audience, load_settings, reject_userinfo
from model.adapters.validate import DEFAULT_MAX_LORA_RANK
from model.generators.defaults import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_CONTEXT_TOKENS,
    DEFAULT_DEADLINE_S,
    DEFAULT_DEVICE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    MAX_SENTENCES,
    MAX_WORDS,
    default_options,
)
from model.generators.local import local_options
from model.generators.openai_wire import validate_options
from model.support import SUPPORT_THRESHOLD


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GeneratorSettings(_Strict):
    """Which generator writes answers. ``extractive`` needs no model server at all.

    ``options`` are checked against what the chosen backend can apply: the ``local``
    backend honours ``max_tokens``, ``temperature``, ``top_p`` and ``repetition_penalty``
    and refuses the rest by name, so no backend silently decodes otherwise than configured
    (the adapter gate runs ``local`` and must decode as production does)."""

    backend: Literal["extractive", "openai", "local"] = "extractive"
    base_url: str | None = Field(None, description="openai backend: OpenAI-compatible API, "
                                 "e.g. http://vllm:8000/v1")
    model: str | None = Field(None, description="openai backend: served model or LoRA "
                              "adapter name")
    api_key: SecretStr | None = Field(None, description="openai backend: "
                                      "POLICYBOT_GENERATOR__API_KEY")
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, description="openai backend")
    connect_timeout_s: float = Field(DEFAULT_CONNECT_TIMEOUT_S, gt=0,
                                     description="openai backend")
    deadline_s: float = Field(DEFAULT_DEADLINE_S, gt=0, le=3600, description="wall-clock "
                              "limit of one generation; past it the answer quotes the "
                              "policies (extractive)")
    max_retries: int = Field(DEFAULT_MAX_RETRIES, ge=0, le=10, description="openai backend")
    context_tokens: int = Field(DEFAULT_CONTEXT_TOKENS, ge=512, description="openai backend")
    options: dict[str, Any] = Field(default_factory=default_options,
                                    description="decoding options of the openai and local "
                                    "backends")
    model_path: Path | None = Field(None, description="local backend: model folder")
    adapter_path: Path | None = Field(None, description="local backend: LoRA adapter folder")
    device: str = Field(DEFAULT_DEVICE, description="local backend")

    @model_validator(mode="after")
    def _options_for_backend(self) -> GeneratorSettings:
        try:
            if self.backend == "local":
                local_options(self.options)
            else:  # extractive keeps them for the adapter gate's openai/local variants
                validate_options(self.options)
        except ValueError as exc:
            raise ValueError(f"options: {exc}") from None
        return self


class AnswerSettings(_Strict):
    passages: int = Field(5, ge=1, le=20, description="passages given to the generator")
    min_confidence: float | None = Field(
        None, ge=0, le=2, description="gate: not covered below this (default: the fitted "
        "value in model/answerability.json)")
    coverage_weight: float | None = Field(None, ge=0, le=2)
    support_threshold: float = Field(SUPPORT_THRESHOLD, ge=0, le=1,
                                     description="tuned: bench/support.py")
    max_sentences: int = Field(MAX_SENTENCES, ge=1, le=10)
    max_words: int = Field(MAX_WORDS, ge=10)


class AdapterSettings(_Strict):
    """LoRA adapters served by vLLM (``--lora-modules NAME=PATH``), chosen by name."""

    default: str | None = Field(None, description="adapter for channels naming none; "
                                "None = the base model")
    paths: dict[str, Path] = Field(default_factory=dict, description="name → adapter folder")
    max_lora_rank: int = Field(DEFAULT_MAX_LORA_RANK, ge=1, description="vLLM's "
                               "--max-lora-rank")
    check_interval_s: float = Field(60.0, ge=0, description="endpoint/adapter health checks; "
                                    "0 = only at start")

    @model_validator(mode="after")
    def _default_known(self) -> AdapterSettings:
        if self.default and self.paths and self.default not in self.paths:
            raise ValueError(f"default adapter {self.default!r} is not in adapters.paths "
                             f"({sorted(self.paths)})")
        return self


SLACK_ID_RE = r"^[A-Z0-9]{2,}$"


class AudienceMembers(_Strict):
    """Who belongs to an audience: Slack user groups (S…) and/or explicit users (U…/W…)."""

    usergroups: list[Annotated[str, StringConstraints(pattern=SLACK_ID_RE)]] = Field(
        default_factory=list)
    users: list[Annotated[str, StringConstraints(pattern=SLACK_ID_RE)]] = Field(
        default_factory=list)


class ChannelSettings(_Strict):
    """Per-channel rules. Channels not listed answer from every source."""

    id: Annotated[str, StringConstraints(pattern=SLACK_ID_RE)]
    sources: list[str] | None = Field(None, description="allowed sources; None = all")
    respond_to_bots: bool = False
    mention_only: bool = Field(False, description="no thread follow-ups without a mention")
    adapter: str | None = Field(None, description="LoRA adapter name for this channel")


class SuggestedPrompt(_Strict):
    """A starter prompt in the agent view: Slack's shape for ``assistant.threads.
    setSuggestedPrompts`` and the manifest's ``agent_view.suggested_prompts``. ``title`` is
    what the button shows; ``message`` is what is asked when it is clicked."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


# Slack shows at most four (assistant.threads.setSuggestedPrompts: "up to four"; the
# manifest schema's agent_view.suggested_prompts has maxItems 4).
MAX_SUGGESTED_PROMPTS = 4
# The one home of the default prompts: deploy/slack/manifest.yaml lists the same ones
# (tests/test_slack_manifest.py holds the two together).
DEFAULT_SUGGESTED_PROMPTS: tuple[tuple[str, str], ...] = (
    ("Annual leave", "How many days of annual leave do I get?"),
    ("Expenses", "What can I expense when I travel for work?"),
    ("Working from home", "Can I work from home, and how often?"),
    ("Parental leave", "How much parental leave can I take?"),
)


def default_suggested_prompts() -> list[SuggestedPrompt]:
    return [SuggestedPrompt(title=t, message=m) for t, m in DEFAULT_SUGGESTED_PROMPTS]


DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# The Slack credentials keep the environment variable names Slack's own docs and every
# slack-bolt example use; POLICYBOT_SLACK__BOT_TOKEN etc. work too (and win).
SLACK_ENV = {"SLACK_BOT_TOKEN": "bot_token", "SLACK_SIGNING_SECRET": "signing_secret",
             "SLACK_APP_TOKEN": "app_token", "POLICYBOT_SLACK_API_URL": "api_url"}


class SlackSettings(_Strict):
    """The Slack app. Its secrets are best set in the environment (``SLACK_BOT_TOKEN``,
    ``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN``); ``serve`` checks them at start."""

    bot_token: SecretStr | None = Field(None, description="SLACK_BOT_TOKEN: the Bot User "
                                        "OAuth Token (xoxb-…)")
    signing_secret: SecretStr | None = Field(None, description="SLACK_SIGNING_SECRET: "
                                             "needed by serve --http")
    app_token: SecretStr | None = Field(None, description="SLACK_APP_TOKEN: app-level token "
                                        "(xapp-…), needed by serve --socket")
    api_url: str = Field(DEFAULT_SLACK_API_URL, description="POLICYBOT_SLACK_API_URL: the "
                         "Slack Web API base URL (GovSlack and tests use another)")
    admins: list[Annotated[str, StringConstraints(pattern=SLACK_ID_RE)]] = Field(
        default_factory=list, description="user IDs allowed to /policy reindex")
    admin_group: str | None = Field(None, description="user group ID whose members are admins")
    audiences: dict[str, AudienceMembers] = Field(default_factory=dict)
    membership_cache_s: float = Field(300.0, ge=0, description="user group and users.info "
                                      "lookups kept")
    membership_grace_s: float = Field(600.0, ge=0, description="after a failed lookup, the "
                                      "last good answer is used this much longer, then "
                                      "access fails closed")
    allow_guests: bool = Field(False, description="answer Slack guests and Slack Connect "
                               "users (public documents only); false = no answers at all")
    rate_limit: int = Field(10, ge=1, description="questions per user per rate_window_s")
    rate_window_s: float = Field(60.0, gt=0)
    workers: int = Field(2, ge=1, le=64, description="answers prepared at once; about one "
                         "per CPU core (answering is CPU-bound)")
    torch_threads: int = Field(1, ge=0, description="CPU threads per model call in serve; "
                               "0 = torch's default (all cores)")
    queue: int = Field(200, ge=0, description="questions waiting for a worker before "
                       "askers are told the bot is busy")
    stream_interval_s: float = Field(1.0, ge=0.2, description="chat.update at most this often")
    streaming: Literal["auto", "off"] = Field("auto", description="auto: answers stream "
                                              "natively (chat.startStream) where the "
                                              "workspace allows it, else placeholder and "
                                              "chat.update; off: always the placeholder")
    append_interval_s: float = Field(1.0, ge=0.1, description="one answer's "
                                     "chat.appendStream at most this often")
    appends_per_minute: int = Field(100, ge=1, description="chat.appendStream calls per "
                                    "minute for the whole workspace (Slack's Tier 4)")
    stale_alert_days: int = Field(30, ge=0, description="answers this recent get alerts")
    run_scheduler: bool = Field(True, description="serve also runs the sync scheduler")
    claim_lease_s: float = Field(30.0, ge=1, description="a question's dedupe claim lapses "
                                 "this long after its replica stopped renewing it (died), so "
                                 "Slack's retry is answered elsewhere")
    suggested_prompts: list[SuggestedPrompt] = Field(
        default_factory=default_suggested_prompts,
        description="starter prompts set when someone opens the Messages tab or starts a "
        "conversation (1-4; each {title, message}, or a plain question used as both)")

    @field_validator("suggested_prompts", mode="before")
    @classmethod
    def _prompts(cls, v: Any) -> Any:
        if not isinstance(v, list | tuple):
            return v
        if not 1 <= len(v) <= MAX_SUGGESTED_PROMPTS:
            raise ValueError(f"{len(v)} prompts given; Slack shows 1 to "
                             f"{MAX_SUGGESTED_PROMPTS} suggested prompts")
        return [{"title": p, "message": p} if isinstance(p, str) else p for p in v]

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        v = v.strip()
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http(s) URL (POLICYBOT_SLACK_API_URL)")
        return reject_userinfo(v).rstrip("/") + "/"

    @field_validator("audiences")
    @classmethod
    def _audience_names(cls, v: dict[str, AudienceMembers]) -> dict[str, AudienceMembers]:
        check_audience(list(v))
        return v


class SlackEnvironment(PydanticBaseSettingsSource):
    """``SLACK_BOT_TOKEN`` & co. (see :data:`SLACK_ENV`) as ``slack.*`` settings.

    Below ``POLICYBOT_*`` variables and above the TOML file; blank values count as unset."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ gives the whole section

    def __call__(self) -> dict[str, Any]:
        found = {key: os.environ[name].strip() for name, key in SLACK_ENV.items()
                 if os.environ.get(name, "").strip()}
        return {"slack": found} if found else {}


class AppSettings(Settings):
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    adapters: AdapterSettings = Field(default_factory=AdapterSettings)
    channels: list[ChannelSettings] = Field(default_factory=list)

    @classmethod
    def extra_sources(cls, settings_cls: type[Settings]) -> tuple[PydanticBaseSettingsSource,
                                                                  ...]:
        return (SlackEnvironment(settings_cls),)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[Any], init_settings: Any,
                                   env_settings: Any, dotenv_settings: Any,
                                   file_secret_settings: Any) -> tuple[Any, ...]:
        return (init_settings, env_settings, *cls.extra_sources(settings_cls),
                dotenv_settings, file_secret_settings)

    def channel(self, channel_id: str) -> ChannelSettings | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    @model_validator(mode="after")
    def _channel_sources(self) -> AppSettings:
        known = {s.name for s in self.sources}
        for c in self.channels:
            unknown = sorted(set(c.sources or ()) - known)
            if unknown and known:
                raise ValueError(f"channel {c.id}: unknown source(s) {unknown}; "
                                 f"configured: {sorted(known)}")
        return self


def load_app_settings(config_file: str | Path | None = None, **overrides: Any) -> AppSettings:
    return load_settings(config_file, settings_cls=AppSettings, **overrides)
