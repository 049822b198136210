"""Screens an LLM's text before anyone sees it, whole or while it streams.

The passages an LLM reads are documents anyone with write access to a source can edit, so
a poisoned passage can make the model write "re-enter your SSO password at https://…".
Two rules hold for every LLM sentence that reaches a reader:

- **A sentence without a valid citation marker is dropped, not flagged.** Such a sentence
  has no passage to be checked against, which is exactly the shape an injected instruction
  takes; marking it "not from the policies" would still put the text (and its link) in
  front of the reader, in Slack's notification preview and in ``ask --json``, where a mark
  is easily lost. Dropping fails closed and costs little: a well-behaved model cites every
  claim, and an answer left with no cited sentence falls back to the extractive one.
- **Every link that is not one of the answer's citation URLs is removed**: bare URLs and
  bare domains (Slack auto-links both, and e-mail addresses as ``mailto:``), Slack's
  ``<url|text>`` and ``<url>`` syntax, ``<!here>``-style mentions, and Markdown
  ``[text](url)`` links. A label is kept, its target is not. The citations' own links are
  drawn by the renderer from the citation list, never from the model's text.

:class:`CheckedStream` applies the same rules (and the unsupported-claim check) to a
stream sentence by sentence, so a channel only ever sees text that passed them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from model.answer import AnswerSentence
from model.citations import END, Resolved, resolve, with_markers
from model.passages import NumberedPassage
from model.support import SupportChecker, cited_passages

log = logging.getLogger(__name__)

LINK_REMOVED = "(link removed)"
_TRAILING = ".,;:!?)]}'\"*_~"
# <https://x|label>, <mailto:x>, <!here>, <@U123>, <#C123|name>: Slack's own link syntax.
_SLACK_LINK = re.compile(r"<([^<>|\n]*)(?:\|([^<>\n]*))?>")
_SLACK_TARGET = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|[@#!])", re.IGNORECASE)
# [label](target): Markdown links, which other renderers (and some Slack clients) draw.
_MARKDOWN_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*([^()\s]*)\s*\)")
# Anything with a scheme, e-mail addresses, and bare domains (optionally with port/path).
_URL = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]{1,15}://|\b(?:mailto|tel|sms|javascript|data|file):)[^\s<>\"'`]+"
    r"|[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}"
    r"|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}\b"
    r"(?::\d{1,5})?(?:/[^\s<>\"'`]*)?",
    re.IGNORECASE)


def _norm(url: str) -> str:
    """A URL compared loosely: no scheme, no ``www.``, no trailing slash, lower case."""
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower())
    return url.removeprefix("www.").rstrip("/")


@dataclass
class Neutralised:
    text: str
    removed: int  # links taken out


def neutralise_links(text: str, allowed: Collection[str] = ()) -> Neutralised:
    """``text`` with every link whose target is not in ``allowed`` removed.

    Labels of Slack and Markdown links stay (with any link inside them removed too); a bare
    link becomes :data:`LINK_REMOVED`. A link in ``allowed`` stays as plain text."""
    keep = {_norm(u) for u in allowed if u}
    removed = 0

    def bare(m: re.Match[str]) -> str:
        nonlocal removed
        found = m.group(0)
        core = found.rstrip(_TRAILING)
        if core and _norm(core) in keep:
            return found
        removed += 1
        return LINK_REMOVED + found[len(core):]

    def slack(m: re.Match[str]) -> str:
        nonlocal removed
        target, label = m.group(1).strip(), (m.group(2) or "").strip()
        if not _SLACK_TARGET.match(target):
            return m.group(0)  # "<5 days>" is text, not markup
        if label:
            removed += _norm(target) not in keep
            return label
        if _norm(target) in keep:
            return target
        removed += 1
        return LINK_REMOVED

    def markdown(m: re.Match[str]) -> str:
        nonlocal removed
        removed += 1
        return m.group(1).strip() or LINK_REMOVED

    out = _SLACK_LINK.sub(slack, text)
    out = _MARKDOWN_LINK.sub(markdown, out)
    out = _URL.sub(bare, out)
    return Neutralised(out, removed)


@dataclass
class Screened:
    sentences: list[AnswerSentence]  # cited sentences only, links neutralised
    uncited: int  # sentences dropped for carrying no valid marker
    links: int  # links removed

    @property
    def text(self) -> str:
        return " ".join(with_markers(s.text, s.citations) for s in self.sentences)


def screen(resolved: Resolved) -> Screened:
    """Keep the sentences of ``resolved`` that cite a given passage; strip foreign links."""
    allowed = [c.url for c in resolved.citations]
    kept: list[AnswerSentence] = []
    uncited = links = 0
    for sentence in resolved.sentences:
        if not sentence.citations:
            uncited += 1
            continue
        cleaned = neutralise_links(sentence.text, allowed)
        links += cleaned.removed
        text = " ".join(cleaned.text.split())
        if text:
            kept.append(AnswerSentence(text, list(sentence.citations)))
    return Screened(kept, uncited, links)


def complete_part(raw: str) -> str:
    """The part of a growing text made of finished sentences.

    A sentence counts as finished once whitespace follows its stop (and any markers after
    it), so "1." of "1.5 days" is never taken for a whole sentence."""
    cut = 0
    for m in END.finditer(raw):
        if m.end() < len(raw):
            cut = m.end()
    return raw[:cut]


class CheckedStream:
    """Relays a streaming LLM answer to ``on_text``, a finished sentence at a time, and
    only the sentences that pass what the final answer must pass: a valid marker, no
    foreign link, and the unsupported-claim check against the cited passages.

    Each update is the whole checked text so far (as ``on_text`` always received)."""

    def __init__(self, passages: Sequence[NumberedPassage], support: SupportChecker,
                 on_text: Callable[[str], None]) -> None:
        self.passages, self.support, self.on_text = passages, support, on_text
        self._done = 0  # length of the raw text already screened
        self._checked: dict[tuple[str, tuple[int, ...]], bool] = {}
        self._shown = ""

    def __call__(self, raw: str) -> None:
        part = complete_part(raw)
        if len(part) > self._done:
            self._done = len(part)
            self._emit(part)

    def _emit(self, part: str) -> None:
        resolved = resolve(part, self.passages)
        screened = screen(resolved)
        todo = [s for s in screened.sentences
                if (s.text, tuple(s.citations)) not in self._checked]
        if todo:
            numbering = {c.doc_id: c.n for c in resolved.citations}
            self.support.check(todo, cited_passages(numbering, self.passages))
            for s in todo:
                self._checked[(s.text, tuple(s.citations))] = s.supported
        shown = " ".join(with_markers(s.text, s.citations) for s in screened.sentences
                         if self._checked[(s.text, tuple(s.citations))])
        if shown and shown != self._shown:
            self._shown = shown
            self.on_text(shown)
