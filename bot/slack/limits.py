"""Slack's published Block Kit and API limits, named once.

Slack rejects a whole message or view when any one field is over its limit, so every
renderer cuts to these numbers instead of trusting the length of what it was given.
Figures are from api.slack.com/reference/block-kit (blocks, block elements, composition
objects, surfaces) and the chat.postMessage and views.* reference pages.
"""

from __future__ import annotations

# Blocks: section `text` is at most 3000 characters.
SECTION_TEXT = 3000
# Messages carry at most 50 blocks; modals and App Home views at most 100.
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
# A context block holds at most 10 elements; a text object is at most 3000 characters.
CONTEXT_ELEMENTS = 10
TEXT_OBJECT = 3000
# Header block: plain_text only, at most 150 characters.
HEADER_TEXT = 150
# Buttons: text 75, value 2000; action_id and block_id 255 each.
BUTTON_TEXT = 75
ACTION_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
# An actions block holds at most 25 elements.
ACTIONS_ELEMENTS = 25
# Confirmation dialog: title 100, text 300, confirm and deny buttons 30 each.
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
# Inputs: plain_text_input max_length 3000; input label and hint 2000.
PLAIN_TEXT_INPUT = 3000
INPUT_LABEL = 2000
# Checkboxes: at most 10 options; option text 75, option value 150.
CHECKBOX_OPTIONS = 10
OPTION_TEXT = 75
OPTION_VALUE = 150
# Views: title, submit and close 24 characters; private_metadata 3000.
VIEW_TITLE = 24
VIEW_BUTTON = 24
PRIVATE_METADATA = 3000
# chat.postMessage `text` may be 40000 characters, but the notification/accessibility
# fallback that accompanies blocks is kept short: Slack truncates long previews anyway.
NOTIFICATION_TEXT = 3000

# PolicyBot's own choices, not Slack's: a link longer than this is shown as its label so one
# URL can never crowd an entire section; versions are shortened to stay readable.
LINK_URL = 2000
SHA_CHARS = 8
VERSION_CHARS = 20

# Native answers (issue 12), from docs.slack.dev/reference/block-kit: a markdown block's
# `text` is standard Markdown, and all markdown blocks of one payload together hold at most
# 12000 characters. A context_actions block holds at most 5 elements; a feedback_buttons
# button has text ≤75 (plain_text), value ≤2000 and accessibility_label ≤75.
MARKDOWN_TEXT = 12000
CONTEXT_ACTIONS_ELEMENTS = 5
ACCESSIBILITY_LABEL = 75
# PolicyBot's own choice: the text of all blocks of one message together. Slack also refuses
# messages whose blocks hold ~12000 characters in all (`msg_blocks_too_long`, reported for
# section and rich_text blocks too, not only markdown), with an undocumented allowance for
# the block containers; 10000 leaves that margin. Longer answers go over several messages.
MESSAGE_TEXT_BUDGET = 10000
# A response_url (slash commands, interactivity) accepts at most 5 posts within 30 minutes.
RESPONSE_URL_USES = 5
