"""Near-duplicate questions grouped by meaning: "can I bring my dog?" and "are dogs
allowed in the office" are one gap in the handbook, asked twice.

Greedy centroid clustering over the configured embedding model's (L2-normalised) vectors:
each question joins the group whose mean vector is closest, when the cosine reaches the
threshold, and starts a new group otherwise. Deterministic for a given order, and cheap
enough for a week of questions (one embedding per distinct wording).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

SIMILARITY = 0.7  # all-MiniLM-L6-v2: paraphrases ≥ 0.72, neighbouring topics ≤ 0.65

Embed = Callable[[list[str]], np.ndarray]


def wording(text: str) -> str:
    """The same question typed with other case or spacing is the same wording."""
    return " ".join(text.casefold().split()).rstrip("?!. ")


def group_similar(texts: Sequence[str], embed: Embed,
                  threshold: float = SIMILARITY) -> list[list[int]]:
    """Indices of ``texts`` in groups of near-duplicates, biggest group first (ties: the
    group asked first), each group in input order."""
    keys = [wording(t) for t in texts]
    distinct = list(dict.fromkeys(keys))
    if not distinct:
        return []
    vectors = np.asarray(embed(distinct), dtype=np.float32)
    members: list[list[int]] = []  # indices into distinct
    sums: list[np.ndarray] = []
    for i, v in enumerate(vectors):
        best, best_sim = -1, threshold
        for g, total in enumerate(sums):
            sim = float(v @ total) / (float(np.linalg.norm(total)) or 1.0)
            if sim >= best_sim:
                best, best_sim = g, sim
        if best < 0:
            members.append([i])
            sums.append(v.copy())
        else:
            members[best].append(i)
            sums[best] += v
    group_of = {distinct[i]: g for g, m in enumerate(members) for i in m}
    groups: list[list[int]] = [[] for _ in members]
    for index, key in enumerate(keys):
        groups[group_of[key]].append(index)
    return sorted(groups, key=lambda g: (-len(g), g[0]))
