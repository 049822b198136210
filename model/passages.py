"""What a generator is given: numbered passages, and the conversation so far.

``model`` knows nothing of LanceDB or Slack: callers turn their own retrieval results
into :class:`NumberedPassage` objects, numbered from 1 in the order shown to the model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NumberedPassage:
    n: int
    doc_id: str
    title: str
    section: str
    text: str
    url: str = ""
    source: str = ""
    path: str = ""
    doc_version: str = ""
    chunk_id: str = ""
    context_before: str = ""  # the neighbouring text of a split section, for reading only
    context_after: str = ""
    similarity: float | None = None  # cosine similarity to the question, when known
    doc_date: str = ""  # ISO day shown beside citations (see version_label, dated_by)
    keyword_score: float | None = None  # BM25 score, when a keyword candidate: with
    # ``similarity`` it tells whether the two retrievers agree on the best passage
    version_label: str = ""  # a version a reader can use (a short commit), or ""
    dated_by: str = ""  # what ``doc_date`` is: document | commit | http | synced
    # (offset in ``text``, link, heading path) of each section when small sections were
    # merged into this passage; empty for one section (``url``, ``section``)
    spans: tuple[tuple[int, str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (link text, URL) of the links in ``text``

    def where(self, quote: str) -> tuple[str, str]:
        """(link, heading path) of the section that holds ``quote``: merged sections each
        keep their own anchor. The passage's own when the quote is not in its text (it
        came from a neighbour) or the passage holds one section."""
        at = self.text.find(quote) if quote and self.spans else -1
        if at < 0:
            return self.url, self.section
        link, section = self.url, self.section
        for offset, span_link, span_section in self.spans:
            if offset > at:
                break
            link, section = span_link, span_section
        return link, section

    @property
    def window(self) -> str:
        """The chunk with its neighbours: what may be read, quoted and cited as this passage.

        A section split across chunks is one passage of one document; the neighbours are
        only ever attached from the same section."""
        return "\n".join(t for t in (self.context_before, self.text, self.context_after) if t)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange in a thread, for follow-up questions."""

    question: str
    answer: str
