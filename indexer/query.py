"""Slack chatter out of a question before it is searched.

A Slack message carries words that are about the conversation, not the policy: mentions
(``<@U123>``), emoji (``:tada:``, 🎉), greetings, thanks, "pls", "??". They cost the
bi-encoder part of its 256-token attention and give BM25 terms that match any page that
also says "thanks". Removing them is safe because none of them can be a policy term; what
remains is never empty (a message that is all chatter is searched as typed), and the
original question is still what the generator reads and what the asker sees.
"""

from __future__ import annotations

import re
import unicodedata

# <@U123>, <@U123|name>, <!here>, <!subteam^S1|@team>: who is addressed, not what is asked.
_MENTION = re.compile(r"<[@!][^>\s]*>")
# <#C123|general> → "general"; <https://x|label> → "label"; <https://x> → dropped.
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LINK = re.compile(r"<(?:https?|mailto):[^>|\s]*\|([^>]*)>")
_BARE_LINK = re.compile(r"<(?:https?|mailto):[^>\s]*>")
_SHORTCODE = re.compile(r"(?<![\w:]):[a-z0-9_+\-']+:(?::skin-tone-\d:)?(?![\w:])", re.I)
# Whole words only; "please" inside "displease" or "ty" inside "type" stay.
_POLITE = re.compile(
    r"\b(?:thanks?(?:\s+(?:so\s+much|a\s+lot|in\s+advance))?|thank\s+you(?:\s+so\s+much)?|"
    r"thx|tia|ty|pls|plz|please|cheers|lol|haha+|lmao|omg|tysm|appreciate\s+it)\b[!.,]*",
    re.I)
_GREETING = re.compile(
    r"^\s*(?:(?:hey|hi|hello|hiya|howdy|yo|heya|morning|good\s+(?:morning|afternoon|evening)"
    r"|quick\s+q(?:uestion)?|qq|sorry\s+to\s+bother(?:\s+you)?)\b"
    r"(?:\s+(?:there|all|everyone|everybody|folks|team|guys|y'all|peeps|people|again))?"
    r"[\s!?,.:;\-–—]*)+", re.I)
_REPEATED = re.compile(r"([?!.])\1+")
_SPACES = re.compile(r"\s+")


def _is_emoji(ch: str) -> bool:
    if ch in "\u200d\ufe0f\ufe0e\u20e3":  # joiners and variation selectors inside emoji
        return True
    cp = ord(ch)
    if 0x1F3FB <= cp <= 0x1F3FF:  # skin tones
        return True
    return unicodedata.category(ch) == "So" and cp >= 0x2190


def clean_query(text: str) -> str:
    """``text`` without Slack chatter, whitespace collapsed; ``text`` itself (stripped)
    when nothing but chatter was there."""
    out = _MENTION.sub(" ", text)
    out = _CHANNEL.sub(r" \1 ", out)
    out = _LINK.sub(r" \1 ", out)
    out = _BARE_LINK.sub(" ", out)
    out = _SHORTCODE.sub(" ", out)
    out = "".join(" " if _is_emoji(ch) else ch for ch in out)
    out = _GREETING.sub("", out)
    out = _POLITE.sub(" ", out)
    out = _REPEATED.sub(r"\1", out)
    out = _SPACES.sub(" ", out).strip(" ,;:-–—")
    if not re.search(r"\w", out):
        return _SPACES.sub(" ", text).strip()
    return out
