"""The application's settings: the indexer's, plus answering and generator sections."""

from __future__ import annotations

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

from indexer.config import Settings, check_audience, load_settings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GeneratorSettings(_Strict):
    """Which generator writes answers. ``extractive`` needs no model server at all."""

    backend: Literal["extractive", "openai", "local"] = "extractive"
    base_url: str | None = Field(None, description="OpenAI-compatible API, e.g. "
                                 "http://vllm:8000/v1")
    model: str | None = Field(None, description="served model or LoRA adapter name")
    api_key: SecretStr | None = Field(None, description="POLICYBOT_GENERATOR__API_KEY")
    timeout_s: float = Field(30.0, gt=0)
    connect_timeout_s: float = Field(3.0, gt=0)
    deadline_s: float = Field(60.0, gt=0, le=3600, description="wall-clock limit of one "
                              "generation; past it the answer quotes the policies (extractive)")
    max_retries: int = Field(2, ge=0, le=10)
    context_tokens: int = Field(4096, ge=512)
    options: dict[str, Any] = Field(default_factory=lambda: {"max_tokens": 400,
                                                             "temperature": 0.1})
    model_path: Path | None = Field(None, description="local backend: model folder")
    adapter_path: Path | None = Field(None, description="local backend: LoRA adapter folder")
    device: str = "cpu"


class AnswerSettings(_Strict):
    passages: int = Field(5, ge=1, le=20, description="passages given to the generator")
    min_confidence: float | None = Field(
        None, ge=0, le=2, description="gate: not covered below this (default: the fitted "
        "value in model/answerability.json)")
    coverage_weight: float | None = Field(None, ge=0, le=2)
    support_threshold: float = Field(0.64, ge=0, le=1, description="tuned: bench/support.py")
    max_sentences: int = Field(3, ge=1, le=10)
    max_words: int = Field(90, ge=10)


class AdapterSettings(_Strict):
    """LoRA adapters served by vLLM (``--lora-modules NAME=PATH``), chosen by name."""

    default: str | None = Field(None, description="adapter for channels naming none; "
                                "None = the base model")
    paths: dict[str, Path] = Field(default_factory=dict, description="name → adapter folder")
    max_lora_rank: int = Field(16, ge=1, description="vLLM's --max-lora-rank")
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


class SlackSettings(_Strict):
    """The Slack app. Secrets are not here: they come from SLACK_* environment variables."""

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
    stale_alert_days: int = Field(30, ge=0, description="answers this recent get alerts")
    run_scheduler: bool = Field(True, description="serve also runs the sync scheduler")
    claim_lease_s: float = Field(30.0, ge=1, description="a question's dedupe claim lapses "
                                 "this long after its replica stopped renewing it (died), so "
                                 "Slack's retry is answered elsewhere")

    @field_validator("audiences")
    @classmethod
    def _audience_names(cls, v: dict[str, AudienceMembers]) -> dict[str, AudienceMembers]:
        check_audience(list(v))
        return v


class AppSettings(Settings):
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    adapters: AdapterSettings = Field(default_factory=AdapterSettings)
    channels: list[ChannelSettings] = Field(default_factory=list)

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
