"""The Answer every renderer (terminal, JSON, Slack) draws from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.passages import NumberedPassage


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
    doc_date: str = ""  # ISO day shown beside the source
    version_label: str = ""  # a version a reader can use (a short commit), or ""
    dated_by: str = ""  # what ``doc_date`` is: document | commit | http | synced
    # (link text, URL) of the source's links inside ``quote``; the quote stays verbatim
    links: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Citation:
        """A citation from :meth:`public_dict` (plus ``doc_id``/``doc_version``) as
        stored with an answer; keys it does not know, or lacks, are left out."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        renamed = {"version": "version_label", "date": "doc_date"}
        fields.update({new: data[old] for old, new in renamed.items()
                       if isinstance(data.get(old), str)})
        fields["links"] = [(str(x["text"]), str(x["url"])) for x in data.get("links") or []
                           if isinstance(x, dict) and "text" in x and "url" in x]
        return cls(**fields)

    def public_dict(self) -> dict[str, Any]:
        return {"n": self.n, "title": self.title, "url": self.url, "source": self.source,
                "path": self.path, "section": self.section, "quote": self.quote,
                "version": self.version_label, "date": self.doc_date,
                "dated_by": self.dated_by,
                "links": [{"text": t, "url": u} for t, u in self.links]}


@dataclass
class AnswerSentence:
    text: str  # without its markers
    citations: list[int]  # renumbered citation numbers
    supported: bool = True
    support: float = 1.0  # how well the cited passages back the sentence (0..1)


ANSWERED, EVIDENCE, NOT_COVERED = "answered", "evidence", "not_covered"
OUTCOMES = (ANSWERED, EVIDENCE, NOT_COVERED)


@dataclass
class Answer:
    """One answer, with one of three outcomes.

    - ``answered``: claims in ``text``, each cited in ``citations``;
    - ``evidence``: no confident answer, but ``evidence`` holds the closest passages,
      quoted verbatim with their links: the closest the handbook comes, never an answer;
    - ``not_covered``: nothing relevant was found; ``related`` documents, if any.

    ``abstained`` is true for the last two (it predates ``outcome``; kept for callers and
    stored answers that only know it). An ``outcome`` left empty is derived from it.
    """

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
    outcome: str = ""  # ANSWERED | EVIDENCE | NOT_COVERED; "" → derived from ``abstained``
    evidence: list[Citation] = field(default_factory=list)  # quoted, for EVIDENCE only
    # what the answer was drawn from and how: evaluation scores retrieval from these, and
    # the adapter gate counts fallbacks, without reaching into the Answerer
    passages: list[NumberedPassage] = field(default_factory=list, repr=False, compare=False)
    fell_back: bool = False  # the LLM's answer was unusable; the extractive one replaced it
    # the extractive decision's probability that the draft answers the question (compared
    # with answerability.json's answer_threshold); None when it was not made (the gate
    # stopped first, or an LLM answered): the eval report plots it
    answerability: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.outcome:
            self.outcome = NOT_COVERED if self.abstained else ANSWERED
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")

    def set_outcome(self, outcome: str) -> None:
        """Set ``outcome`` and the ``abstained`` flag that goes with it."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.outcome, self.abstained = outcome, outcome != ANSWERED

    @property
    def unsupported(self) -> list[AnswerSentence]:
        return [s for s in self.sentences if not s.supported]

    def public_dict(self) -> dict[str, Any]:
        """The ``policybot ask --json`` contract."""
        return {"answer": self.text, "outcome": self.outcome, "abstained": self.abstained,
                "grounded": self.grounded,
                "citations": [c.public_dict() for c in self.citations],
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
                "related": [c.public_dict() for c in self.related],
                "evidence": [c.public_dict() for c in self.evidence],
                "unsupported_sentences": [s.text for s in self.unsupported],
                "generator": self.generator, "notes": self.notes}
