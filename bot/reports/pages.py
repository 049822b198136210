"""The Jinja2 environment both reports render with.

Autoescaping is on for every template (``select_autoescape`` would leave a template named
``*.j2`` unescaped), and undefined names fail loudly instead of rendering as blanks.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("bot.reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = percent
    return env


def percent(value: float | None) -> str:
    """A ratio as a percentage ("–" for none: a metric with nothing to measure)."""
    return "–" if value is None else f"{value * 100:.0f} %"


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
