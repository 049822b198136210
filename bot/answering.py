"""Wires the index and a generator into an Answerer, from settings."""

from __future__ import annotations

import copy
from typing import Any

from bot.settings import AppSettings, GeneratorSettings
from indexer.errors import ConfigError
from model.answerer import Answerer, AnswerPolicy, Asker
from model.embed_cache import CachedEmbed
from model.generators.base import Generator
from model.generators.extractive import ExtractiveGenerator
from model.passages import NumberedPassage
from model.support import SupportChecker


def numbered(passages: list[Any]) -> list[NumberedPassage]:
    """Retrieval results as the numbered passages a generator sees, each with the
    version and date readers are shown beside its document (:mod:`indexer.dating`)."""
    out = []
    for i, p in enumerate(passages, start=1):
        shown = p.dating
        out.append(NumberedPassage(
            n=i, doc_id=p.doc_id, title=p.title, section=p.section, text=p.text, url=p.url,
            source=p.source, path=p.path, doc_version=p.doc_version, chunk_id=p.chunk_id,
            context_before=p.context_before, context_after=p.context_after,
            similarity=p.vector_score, keyword_score=p.bm25_score, doc_date=shown.date,
            version_label=shown.version, dated_by=shown.kind, spans=p.spans,
            links=p.link_pairs))
    return out


def model_label(cfg: GeneratorSettings) -> str:
    """What is stored as an answer's model when no adapter answers: the served model's
    name, else the local model's folder, else the backend."""
    return cfg.model or (str(cfg.model_path) if cfg.model_path else cfg.backend)


def build_generator(cfg: GeneratorSettings, extractive: ExtractiveGenerator) -> Generator:
    if cfg.backend == "extractive":
        return extractive
    if cfg.backend == "openai":
        if not cfg.base_url or not cfg.model:
            raise ConfigError("generator.backend = 'openai' needs generator.base_url "
                              "(e.g. http://localhost:8000/v1) and generator.model")
        from model.generators.openai_http import OpenAICompatibleGenerator

        try:
            return OpenAICompatibleGenerator(
                cfg.base_url, cfg.model,
                api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
                timeout_s=cfg.timeout_s, connect_timeout_s=cfg.connect_timeout_s,
                max_retries=cfg.max_retries, options=cfg.options,
                context_tokens=cfg.context_tokens, deadline_s=cfg.deadline_s)
        except ValueError as exc:
            raise ConfigError(f"generator.options: {exc}") from exc
    if not cfg.model_path:
        raise ConfigError("generator.backend = 'local' needs generator.model_path")
    from model.generators.local import LocalTransformersGenerator

    try:
        return LocalTransformersGenerator(cfg.model_path, cfg.adapter_path, device=cfg.device,
                                          options=cfg.options, deadline_s=cfg.deadline_s)
    except ValueError as exc:  # settings copied with model_copy() skip their validators
        raise ConfigError(f"generator.options: {exc}") from exc


def build_answerer(settings: AppSettings, index: Any) -> Answerer:
    """An Answerer over ``index``; IndexMissingError when nothing was synced yet."""
    retriever = index.retriever()
    embedder = index.embedder

    embed = CachedEmbed(embedder.embed_few)

    def retrieve(query: str, asker: Asker) -> list[NumberedPassage]:
        found = retriever.search(query, k=settings.answer.passages,
                                 audiences=list(asker.audiences) or None,
                                 sources=None if asker.sources is None else list(asker.sources))
        return numbered(found)

    cfg = settings.answer
    extractive = ExtractiveGenerator(embed, max_sentences=cfg.max_sentences,
                                     max_words=cfg.max_words)
    return Answerer(retrieve, build_generator(settings.generator, extractive), extractive,
                    SupportChecker(embed, threshold=cfg.support_threshold),
                    AnswerPolicy(min_confidence=cfg.min_confidence,
                                 coverage_weight=cfg.coverage_weight))


def with_adapter(answerer: Answerer, model: str | None) -> Answerer:
    """``answerer`` asking the LLM server for ``model`` (a LoRA adapter's served name).

    ``None`` (the base model) or a generator that cannot switch models returns
    ``answerer`` itself. Otherwise a shallow copy shares retrieval, the extractive fallback,
    the support checker and the HTTP pool, so per-channel adapters cost nothing per question
    and the shared answerer is never mutated under concurrent requests."""
    if model is None or not answerer.generator.selects_adapters:
        return answerer
    generator = answerer.generator.with_model(model)
    if generator is answerer.generator:
        return answerer
    view = copy.copy(answerer)
    view.generator = generator
    return view
