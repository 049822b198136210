"""The generator contract: question + numbered passages in, text with [n] markers out.

Capabilities are declared as class attributes, the way simonw/llm's model classes declare
``can_stream``: a caller reads ``generator.selects_adapters`` rather than probing for a
method, and a method whose capability is not declared refuses loudly
(:class:`CapabilityMissing`) instead of pretending. ``tests/test_generator_contract.py``
is the suite every generator passes.
"""

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


class CapabilityMissing(NotImplementedError):
    """A caller used a capability the generator does not declare: a programming error,
    so it is not a GeneratorError (which would be taken as "fall back and carry on")."""


class Generator(ABC):
    """One abstract method; everything else is declared, with a default.

    ``generate`` yields pieces of the answer as they come. Markers ``[n]`` refer to
    ``passages[i].n``. Failures are :class:`GeneratorUnavailable` (fall back: the backend
    cannot answer now) or :class:`GeneratorError` (the backend answered with something
    unusable); nothing else.

    Capabilities:

    - ``streams``: ``generate`` yields the answer in pieces as it is produced; without
      it, the answer comes as one piece.
    - ``uses_llm``: the text is written by a language model, so the answerer checks its
      citations and support; without it, the text is the documents' own words.
    - ``lists_models``: :meth:`list_models` asks the backend which models (and LoRA
      adapters) it serves now.
    - ``selects_adapters``: :meth:`with_model` gives this generator asking for another
      served model, such as a LoRA adapter by its served name, per request.
    """

    name: str = "generator"
    streams: bool = False
    uses_llm: bool = False
    lists_models: bool = False
    selects_adapters: bool = False

    @abstractmethod
    def generate(self, question: str, passages: Sequence[NumberedPassage],
                 history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield the answer text, in one piece or several (see ``streams``)."""

    def list_models(self) -> list[str]:
        """Model ids the backend serves now (only with ``lists_models``)."""
        raise CapabilityMissing(f"the {self.name} generator cannot list models")

    def with_model(self, name: str) -> Generator:
        """This generator asking for model ``name`` (only with ``selects_adapters``)."""
        raise CapabilityMissing(f"the {self.name} generator cannot select a model or adapter")

    def close(self) -> None:  # noqa: B027 - a real default, not a missing abstract method
        """Release what the generator holds (connections); nothing by default."""
