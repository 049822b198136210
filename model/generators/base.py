"""The generator contract: question + numbered passages in, text with [n] markers out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from model.passages import NumberedPassage, Turn


class GeneratorUnavailable(Exception):
    """The backend cannot answer now (down, timed out, overloaded): fall back."""


class GeneratorDeadline(GeneratorUnavailable):
    """The generation ran past its wall-clock deadline (a slow or trickling backend)."""


class GeneratorError(Exception):
    """The backend answered with something unusable (malformed JSON, empty stream)."""


class Generator(ABC):
    """One abstract method. Capabilities are attributes, so callers can adapt.

    ``generate`` yields pieces of the answer as they come (one piece for backends that do
    not stream). Markers ``[n]`` refer to ``passages[i].n``.
    """

    name: str = "generator"
    streams: bool = False
    uses_llm: bool = False

    @abstractmethod
    def generate(self, question: str, passages: Sequence[NumberedPassage],
                 history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield the answer text, possibly in several pieces."""
