"""The sentence-embedding cache returns the model's own vectors and embeds each text once."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.embed_cache import CachedEmbed


def test_cache_matches_the_model_and_skips_repeats(embedder: Any) -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return embedder.embed(texts, progress=False)

    cached = CachedEmbed(embed, maxsize=3)
    texts = ["Submit claims within 30 days.", "Use 1Password.", "Submit claims within 30 days."]
    first = cached(texts)
    assert np.allclose(first, embedder.embed(texts, progress=False), atol=1e-5)
    assert calls == [["Submit claims within 30 days.", "Use 1Password."]]  # deduplicated
    again = cached(["Use 1Password.", "Core hours are 10:00 to 16:00."])
    assert calls[-1] == ["Core hours are 10:00 to 16:00."] and np.allclose(again[0], first[1])
    cached(["One more.", "And another."])  # evicts the least recently used beyond 3
    assert len(cached._cache) == 3 and "Submit claims within 30 days." not in cached._cache
