"""Checks that Block Kit payloads would be accepted by Slack.

Slack answers an over-long field or an empty text with ``invalid_blocks`` and drops the whole
message, so every renderer's output is walked here against Slack's published limits. The
numbers are written out rather than imported from ``bot.slack.limits`` so that a wrong
constant there cannot make its own test pass.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import Block

# Links, mentions, channel and date tokens are the only `<…>` Slack mrkdwn should contain.
_TOKEN = re.compile(r"<(?:(?:https?://|mailto:)[^\s|<>]+(?:\|[^<>]+)?|@[A-Z0-9]+|#C[A-Z0-9]+(?:\|[^<>]*)?"
                    r"|!date\^\d+\^[^|<>]+\|[^<>]+|!(?:here|channel|everyone))>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")

TEXT_LIMITS = {"section": 3000, "header": 150}


def _text(obj: Any, where: str, limit: int = 3000) -> None:
    assert isinstance(obj, dict), f"{where}: text object expected, got {obj!r}"
    assert obj.get("type") in ("plain_text", "mrkdwn"), f"{where}: bad text type {obj!r}"
    text = obj.get("text")
    assert isinstance(text, str) and text.strip(), f"{where}: empty text"
    assert len(text) <= limit, f"{where}: {len(text)} characters > {limit}"
    if obj["type"] == "mrkdwn":
        assert_escaped(text, where)


def assert_escaped(text: str, where: str = "mrkdwn") -> None:
    """No stray ``<``, ``>`` or ``&``: only links, mentions, dates and block quotes."""
    rest = _ENTITY.sub("", _TOKEN.sub("", text))
    rest = "\n".join(line[1:] if line.startswith(">") else line for line in rest.split("\n"))
    for ch in "<>&":
        assert ch not in rest, f"{where}: unescaped {ch!r} in {text[:200]!r}"


def _confirm(obj: dict[str, Any], where: str) -> None:
    _text(obj["title"], f"{where}.title", 100)
    _text(obj["text"], f"{where}.text", 300)
    _text(obj["confirm"], f"{where}.confirm", 30)
    _text(obj["deny"], f"{where}.deny", 30)


def _element(el: dict[str, Any], where: str) -> None:
    kind = el.get("type")
    if kind in ("plain_text", "mrkdwn"):
        _text(el, where)
        return
    if "action_id" in el:
        assert 0 < len(el["action_id"]) <= 255, f"{where}: action_id"
    if kind == "button":
        _text(el["text"], f"{where}.text", 75)
        assert len(el.get("value", "")) <= 2000, f"{where}: value over 2000"
        assert len(el.get("url", "")) <= 3000, f"{where}: url over 3000"
        assert el.get("style") in (None, "primary", "danger"), f"{where}: style"
    elif kind == "checkboxes":
        assert 0 < len(el["options"]) <= 10, f"{where}: 1..10 options"
        for i, opt in enumerate(el["options"]):
            _text(opt["text"], f"{where}.options[{i}]", 75)
            assert 0 < len(opt["value"]) <= 150, f"{where}.options[{i}]: value"
    elif kind == "plain_text_input":
        assert el.get("max_length", 0) <= 3000, f"{where}: max_length over 3000"
        if "placeholder" in el:
            _text(el["placeholder"], f"{where}.placeholder", 150)
    else:
        raise AssertionError(f"{where}: unchecked element type {kind!r}")
    if "confirm" in el:
        _confirm(el["confirm"], f"{where}.confirm")


def _block(block: dict[str, Any], where: str) -> None:
    kind = block.get("type")
    assert len(block.get("block_id", "")) <= 255, f"{where}: block_id over 255"
    if kind == "section":
        assert "text" in block or "fields" in block, f"{where}: section without text"
        if "text" in block:
            _text(block["text"], f"{where}.text", 3000)
        fields = block.get("fields", [])
        assert len(fields) <= 10, f"{where}: more than 10 fields"
        for i, f in enumerate(fields):
            _text(f, f"{where}.fields[{i}]", 2000)
        if "accessory" in block:
            _element(block["accessory"], f"{where}.accessory")
    elif kind == "header":
        assert block["text"]["type"] == "plain_text", f"{where}: header must be plain_text"
        _text(block["text"], f"{where}.text", 150)
    elif kind == "context":
        assert 0 < len(block["elements"]) <= 10, f"{where}: 1..10 context elements"
        for i, el in enumerate(block["elements"]):
            _text(el, f"{where}.elements[{i}]")
    elif kind == "actions":
        assert 0 < len(block["elements"]) <= 25, f"{where}: 1..25 action elements"
        ids = [el.get("action_id") for el in block["elements"]]
        assert len(ids) == len(set(ids)), f"{where}: duplicate action_id in one block"
        for i, el in enumerate(block["elements"]):
            _element(el, f"{where}.elements[{i}]")
    elif kind == "input":
        _text(block["label"], f"{where}.label", 2000)
        _element(block["element"], f"{where}.element")
    elif kind in ("markdown", "context_actions"):
        _native_block(block, where)
    elif kind != "divider":
        raise AssertionError(f"{where}: unchecked block type {kind!r}")


def assert_within_limits(blocks: list[dict[str, Any]], max_blocks: int = 50) -> None:
    """Every block and element within Slack's limits (50 blocks for a message)."""
    assert isinstance(blocks, list) and blocks, "no blocks"
    assert len(blocks) <= max_blocks, f"{len(blocks)} blocks > {max_blocks}"
    markdown = sum(len(b.get("text", "")) for b in blocks if b.get("type") == "markdown")
    assert markdown <= 12000, f"markdown blocks hold {markdown} characters > 12000 in all"
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), "duplicate block_id"
    for i, block in enumerate(blocks):
        _block(block, f"blocks[{i}]")
        parsed = Block.parse(block)  # slack_sdk's own validation, as a second opinion
        assert parsed is not None, f"blocks[{i}]: slack_sdk cannot parse {block!r}"
        parsed.validate_json()


def assert_view_within_limits(view: dict[str, Any]) -> None:
    """A modal or App Home view: ≤100 blocks, title/buttons ≤24, private_metadata ≤3000."""
    assert view["type"] in ("modal", "home"), f"bad view type {view.get('type')!r}"
    assert_within_limits(view["blocks"], max_blocks=100)
    for key in ("title", "submit", "close"):
        if key in view:
            _text(view[key], key, 24)
    assert view["type"] != "modal" or "title" in view, "a modal needs a title"
    assert len(view.get("private_metadata", "")) <= 3000, "private_metadata over 3000"
    assert len(view.get("callback_id", "")) <= 255, "callback_id over 255"


# -- issue 12: the markdown block and native feedback (docs.slack.dev/reference/block-kit:
# blocks/markdown-block, blocks/context-actions-block, block-elements/feedback-buttons-element)
MESSAGE_TEXT = 12000  # msg_blocks_too_long: Slack's cumulative limit on a message's blocks


def _feedback_button(button: Any, where: str) -> None:
    assert isinstance(button, dict), f"{where}: button object expected"
    assert set(button) <= {"text", "value", "accessibility_label"}, f"{where}: unknown field"
    assert button["text"].get("type") == "plain_text", f"{where}: text must be plain_text"
    _text(button["text"], f"{where}.text", 75)
    assert isinstance(button.get("value"), str) and 0 < len(button["value"]) <= 2000, \
        f"{where}: value (required) 1..2000"
    label = button.get("accessibility_label")
    assert label is None or 0 < len(label) <= 75, f"{where}: accessibility_label over 75"


def _native_block(block: dict[str, Any], where: str) -> None:
    if block["type"] == "markdown":
        text = block.get("text")
        assert isinstance(text, str) and text.strip(), f"{where}: empty markdown"
        assert len(text) <= 12000, f"{where}: markdown {len(text)} characters > 12000"
        assert_markdown_escaped(text, where)
        return
    elements = block.get("elements") or []
    assert 0 < len(elements) <= 5, f"{where}: 1..5 context_actions elements"
    for i, el in enumerate(elements):
        here = f"{where}.elements[{i}]"
        assert el.get("type") in ("feedback_buttons", "icon_button"), f"{here}: type"
        assert 0 < len(el.get("action_id", "x")) <= 255, f"{here}: action_id"
        if el["type"] == "feedback_buttons":
            _feedback_button(el.get("positive_button"), f"{here}.positive_button")
            _feedback_button(el.get("negative_button"), f"{here}.negative_button")


# In PolicyBot's Markdown only these make markup: links, list markers at a line's start,
# and backslash escapes; any other markup character is a passage's text left unescaped.
_MD_LINK = re.compile(r"\[(?:\\.|[^\]\\\n])*\]\(https?://[^()\s]+\)")
_MD_ESCAPE = re.compile(r"\\[\\`*_~\[\]<>&#|!.)\-+=]")
_MD_LIST = re.compile(r"^(?:- |\d{1,3}\. )", re.MULTILINE)


def assert_markdown_escaped(text: str, where: str = "markdown") -> None:
    """No stray Markdown markup, HTML or Slack token in a markdown block's text."""
    rest = _MD_LIST.sub("", _MD_ESCAPE.sub("", _MD_LINK.sub("", text)))
    for ch in "\\`*_~[]<>&#|":
        assert ch not in rest, f"{where}: unescaped {ch!r} in {text[:200]!r}"


def message_chars(blocks: list[dict[str, Any]]) -> int:
    """Characters of text in a message's blocks, as Slack's cumulative limit counts them."""
    def walk(node: Any) -> int:
        if isinstance(node, dict):
            return sum(len(v) if k == "text" and isinstance(v, str) else walk(v)
                       for k, v in node.items())
        if isinstance(node, list):
            return sum(walk(v) for v in node)
        return 0
    return walk(blocks)


def assert_message_within_limits(blocks: list[dict[str, Any]]) -> None:
    """A message Slack accepts as a whole: every block within limits, and the text of all
    its blocks together under the cumulative limit (``msg_blocks_too_long``)."""
    assert_within_limits(blocks)
    chars = message_chars(blocks)
    assert chars <= MESSAGE_TEXT, f"{chars} characters of text > {MESSAGE_TEXT} in one message"


def texts(blocks: list[dict[str, Any]]) -> str:
    """All text in ``blocks``, joined, for asserting what a user would see."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn", "markdown") \
                    and isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)
