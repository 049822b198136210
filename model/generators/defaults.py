"""The generators' defaults, in one place: the settings use them as their defaults too.

``bot/settings.py`` may import ``model`` but not the other way round, so each default
that both a generator's constructor and the ``[generator]`` settings need lives here and
both refer to it. A default written twice drifts (the answer-length cap once had three).
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_TOKENS = 400  # the answer-length cap: brief cited answers fit in well under it
DEFAULT_TEMPERATURE = 0.1  # near-greedy: answers vary little between askers
DEFAULT_DEADLINE_S = 60.0  # wall-clock limit of one generation (retries included)
DEFAULT_TIMEOUT_S = 30.0  # each wait for bytes from an LLM server, the first token included
DEFAULT_CONNECT_TIMEOUT_S = 3.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_CONTEXT_TOKENS = 4096  # the server's context window when nothing says otherwise
DEFAULT_DEVICE = "cpu"
MAX_SENTENCES = 3  # the extractive answer quotes 1 to this many sentences
MAX_WORDS = 90  # ...and stops adding sentences past this many words
# Sentences embedded per question, shortlisted by the question's words: embedding them is
# most of an extractive answer's time on a CPU. 8 instead of 32 left every outcome of the
# slack-dev tuning questions unchanged, showed their gold quote as often (19 vs 18 of 42;
# 6 showed 17) and halved `ask` p50; on bench/eval's hand-written sets one answer in 49-79
# became evidence (docs/benchmarks.md, sections 4 and 14).
MAX_CANDIDATES = 8


def default_options() -> dict[str, Any]:
    """The decoding options the settings start from (a new dict each call)."""
    return {"max_tokens": DEFAULT_MAX_TOKENS, "temperature": DEFAULT_TEMPERATURE}
