"""The application's settings: the indexer's, plus answering and generator sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from indexer.config import Settings, load_settings


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
    max_retries: int = Field(2, ge=0, le=10)
    context_tokens: int = Field(4096, ge=512)
    options: dict[str, Any] = Field(default_factory=lambda: {"max_tokens": 400,
                                                             "temperature": 0.1})
    model_path: Path | None = Field(None, description="local backend: model folder")
    adapter_path: Path | None = Field(None, description="local backend: LoRA adapter folder")
    device: str = "cpu"


class AnswerSettings(_Strict):
    passages: int = Field(5, ge=1, le=20, description="passages given to the generator")
    min_confidence: float = Field(0.752, ge=0, le=2, description="abstain below this")
    coverage_weight: float = Field(0.7, ge=0, le=2)
    support_threshold: float = Field(0.64, ge=0, le=1, description="tuned: bench/support.py")
    max_sentences: int = Field(3, ge=1, le=10)
    max_words: int = Field(90, ge=10)


class AppSettings(Settings):
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)


def load_app_settings(config_file: str | Path | None = None, **overrides: Any) -> AppSettings:
    return load_settings(config_file, settings_cls=AppSettings, **overrides)
