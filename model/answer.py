"""The Answer every renderer (terminal, JSON, Slack) draws from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Citation:
    """A source the answer relies on; ``quote`` is a verbatim span of the cited passage."""

    n: int
    title: str
    url: str
    source: str
    path: str
    section: str
    quote: str
    doc_version: str = ""
    doc_id: str = ""
    doc_date: str = ""  # ISO date the indexed content last changed

    def public_dict(self) -> dict[str, Any]:
        return {"n": self.n, "title": self.title, "url": self.url, "source": self.source,
                "path": self.path, "section": self.section, "quote": self.quote}


@dataclass
class AnswerSentence:
    text: str  # without its markers
    citations: list[int]  # renumbered citation numbers
    supported: bool = True
    support: float = 1.0  # how well the cited passages back the sentence (0..1)


@dataclass
class Answer:
    question: str
    text: str  # with [n] markers, renumbered
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False  # the sources do not cover the question
    grounded: bool = False  # at least one valid citation backs the text
    sentences: list[AnswerSentence] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # "might be related" on abstain
    generator: str = ""
    notes: list[str] = field(default_factory=list)  # fallbacks and caveats shown to users
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def unsupported(self) -> list[AnswerSentence]:
        return [s for s in self.sentences if not s.supported]

    def public_dict(self) -> dict[str, Any]:
        """The ``policybot ask --json`` contract."""
        return {"answer": self.text, "abstained": self.abstained, "grounded": self.grounded,
                "citations": [c.public_dict() for c in self.citations],
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
                "related": [c.public_dict() for c in self.related],
                "unsupported_sentences": [s.text for s in self.unsupported],
                "generator": self.generator, "notes": self.notes}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
