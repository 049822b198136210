"""Removes template syntax that is markup, not prose, before a document is parsed.

Handbooks built with Jekyll, Eleventy or Hugo carry ``{% ... %}`` tags and ``{{ ... }}``
expressions. Left in, they pollute chunks and skew both BM25 and embeddings. Removed text
is replaced by the same number of newlines so line numbers in citations stay true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.S)
_TAG = re.compile(r"\{%-?\s*(\w+)((?:[^%]|%(?!\}))*?)-?%\}", re.S)
_EXPR = re.compile(r"\{\{(?:[^}]|\}(?!\}))*\}\}", re.S)
_FIRST_ARG = re.compile(r"""["']([^"']+)["']""")

# Tags whose rendered output is prose worth keeping, as a format for their first argument.
DEFAULT_TAG_TEXT = {"slack_channel": "#{0}"}


def _blank(match: re.Match[str]) -> str:
    return "\n" * match.group(0).count("\n")


@dataclass
class TemplateCleaner:
    """Strips template tags and any extra patterns configured by the admin."""

    enabled: bool = True
    extra_patterns: list[str] = field(default_factory=list)
    tag_text: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TAG_TEXT))

    def __post_init__(self) -> None:
        self._extra = [re.compile(p, re.S) for p in self.extra_patterns]

    def _tag(self, match: re.Match[str]) -> str:
        fmt = self.tag_text.get(match.group(1))
        arg = _FIRST_ARG.search(match.group(2) or "")
        if fmt and arg:
            return fmt.format(arg.group(1)) + "\n" * match.group(0).count("\n")
        return _blank(match)

    def clean(self, text: str) -> str:
        if self.enabled:
            text = _COMMENT.sub(_blank, text)
            text = _TAG.sub(self._tag, text)
            text = _EXPR.sub(_blank, text)
        for pattern in self._extra:
            text = pattern.sub(_blank, text)
        return text
