"""The answerability plot of the eval page, as geometry for an inline SVG.

A strip plot: one row of dots for answerable questions and one for questions the
documents do not cover, along the extractive decision's score (0–1), with the answer
threshold as a vertical line. A good decision puts the answerable dots right of the line
and the others left of it. Dots are spread vertically by a fixed hash of the question id,
so the same run draws the same picture. Questions with no score (stopped by the retrieval
gate before the decision, or answered by an LLM) are counted beside their row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

WIDTH, ROW, LEFT, RIGHT, TOP, AXIS = 720, 70, 130, 140, 16, 34


@dataclass
class Dot:
    x: float
    y: float
    label: str  # the tooltip: id, outcome, score
    outcome: str


@dataclass
class Row:
    label: str
    y: float
    dots: list[Dot] = field(default_factory=list)
    unscored: int = 0


@dataclass
class StripPlot:
    width: int
    height: int
    left: int
    right: int  # x of the right end of the axis
    threshold: float
    threshold_x: float
    rows: list[Row]
    ticks: list[tuple[float, str]]  # (x, label)
    axis_y: float


def _spread(key: str) -> float:
    """A fixed offset in [-1, 1] from the id: deterministic jitter."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return digest[0] / 127.5 - 1.0


def strip_plot(details: list[dict[str, Any]], threshold: float) -> StripPlot:
    """Geometry for ``details`` (rows of :func:`bot.evaluation.detail`)."""
    right = WIDTH - RIGHT

    def x_of(score: float) -> float:
        return LEFT + max(0.0, min(1.0, score)) * (right - LEFT)

    groups = [("answerable", lambda d: bool(d["gold"])),
              ("not covered", lambda d: not d["gold"])]
    rows: list[Row] = []
    for i, (label, wanted) in enumerate(groups):
        row = Row(label, TOP + ROW * i + ROW / 2)
        for d in details:
            if not wanted(d):
                continue
            score = d.get("answerability")
            if score is None:
                row.unscored += 1
                continue
            row.dots.append(Dot(x_of(score), row.y + _spread(d["id"]) * (ROW / 2 - 8),
                                f"{d['id']}: {d['outcome']}, score {score:.2f}",
                                d["outcome"]))
        rows.append(row)
    axis_y = TOP + ROW * len(rows) + 4
    ticks = [(x_of(t / 4), f"{t / 4:.2f}") for t in range(5)]
    return StripPlot(WIDTH, int(axis_y + AXIS), LEFT, right, threshold, x_of(threshold),
                     rows, ticks, axis_y)
