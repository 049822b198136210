"""Every sentence PolicyBot says in Slack, in one place.

Wording is reviewed and changed without touching handlers, and tests can assert on the
same constants users see. Constants are ready-to-send mrkdwn; format functions escape
whatever they interpolate, so callers never escape twice or forget to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime

from bot.slack.mrkdwn import date, escape, truncate

# Answering
WORKING = "Searching the policies…"
WRITING = "_writing…_"
EMPTY_QUESTION = ("Ask me a question about company policy, for example "
                  "`/policy How many vacation days do I get?`")
ABSTAIN = "The policies I can see don't seem to cover this."
UNGROUNDED = "I couldn't tie an answer to the policy documents, so I won't guess."
RELATED_HEADING = "*Might be related*"
# Evidence: no confident answer, only the closest passages, quoted; never an answer.
EVIDENCE_LEAD = ("I couldn't find a direct answer. *The closest the handbook comes* is "
                 "quoted below — it may not answer your question, so read it and check "
                 "whether it applies.")
EVIDENCE_TEXT = ("I couldn't find a direct answer; here is the closest the handbook comes "
                 "(not an answer).")
SOURCES_HEADING = "*Sources*"
INDEX_MISSING = "No documents are indexed yet. Ask an admin to run `/policy reindex`."
GENERIC_ERROR = ("Sorry, something went wrong while answering. Please try again in a "
                 "minute; if it keeps happening, let a PolicyBot admin know.")
CHANNEL_NOT_ALLOWED = ("None of the policy sources may be shared in this channel. "
                       "Ask me in a direct message instead.")
GUESTS_NOT_ANSWERED = ("Sorry, PolicyBot answers people in this organisation only, not "
                       "guests or people from other organisations.")
WHO_ARE_YOU = ("Sorry, I couldn't check your Slack account just now, so I can't answer. "
               "Please try again in a few minutes.")
BUSY = ("PolicyBot is answering a lot of questions right now. Please ask again in a "
        "minute.")

# Cite
CITE_TITLE = "The passages behind this answer"
CITE_NOT_FOUND = ("I couldn't find a PolicyBot answer you can see here. Ask a question "
                  "(`/policy cite QUESTION`) or paste a link to an answer.")
CITE_OTHER_CHANNEL = ("I can only show the passages behind answers in this channel or in "
                      "channels you're a member of.")
NOTHING_TO_CITE = "This answer doesn't quote any policy passages, so there's nothing to cite."

# Feedback and sharing
FEEDBACK_UP = "👍 Helpful"
FEEDBACK_DOWN = "👎 Not helpful"
FEEDBACK_THANKS = "Thanks for the feedback, it helps keep PolicyBot's answers accurate."
FEEDBACK_MODAL_TITLE = "What went wrong?"
FEEDBACK_SUBMIT = "Send"
FEEDBACK_CLOSE = "Cancel"
FEEDBACK_REASONS_LABEL = "The answer…"
FEEDBACK_DETAILS_LABEL = "Anything else we should know?"
FEEDBACK_DETAILS_PLACEHOLDER = "Which document or section should it have used?"
FEEDBACK_REASONS: tuple[tuple[str, str], ...] = (
    ("wrong", "is wrong"),
    ("outdated", "is out of date"),
    ("missing_source", "misses a source"),
    ("unclear", "is unclear"),
    ("other", "has another problem"),
)
SHARE_BUTTON = "Share in channel"
SHARE_FAILED = ("I couldn't post in this channel. Invite PolicyBot to it (`/invite "
                "@PolicyBot`) and try again.")

# Refresh and re-index
REFRESH_NOTHING_CITED = ("There's no PolicyBot answer with sources in this thread yet, "
                         "so there's nothing to refresh.")
NOT_ADMIN = ("Sorry, only PolicyBot admins can re-index sources. If a document looks out "
             "of date, `/policy refresh` shows what changed, or ask an admin.")
REFRESH_WEB_ADMIN_ONLY = ("Sorry, only PolicyBot admins can refresh a whole web source "
                          "(it fetches every page again). `/policy refresh` without a "
                          "source checks the documents behind your latest answer.")
REINDEX_BUTTON = "Re-index"
REINDEX_CONFIRM = "Re-index"
REINDEX_DENY = "Cancel"

# App Home and status
HOME_HEADER = "PolicyBot"
STATUS_HEADER = "PolicyBot index"
SOURCES_TITLE = "*Policy sources*"
NOT_SCHEDULED = "not scheduled"
HOME_GUIDE = (
    "*How to ask*\n"
    "• Ask one question at a time, in plain words: _Can I carry over unused vacation?_\n"
    "• Every answer links to the exact passages it comes from; open them before acting.\n"
    "• `/policy cite` shows the quoted passages, `/policy refresh` re-checks an answer "
    "against the latest documents.\n"
    "• If an answer is wrong or outdated, press 👎 so the policy owners hear about it."
)
HELP_COMMAND = (
    "*`/policy QUESTION`* ask about company policy\n"
    "*`/policy cite [QUESTION | message link]`* the quoted passages behind an answer\n"
    "*`/policy refresh [SOURCE]`* re-check the answers in this thread against the latest "
    "documents\n"
    "*`/policy reindex [SOURCE]`* re-read the documents now (admins)\n"
    "*`/policy status`* what is indexed and when it was last synced\n"
    "*`/policy help`* this message"
)
HELP_CONVERSATION = (
    "You can also mention @PolicyBot with a question in a channel, send it a direct "
    "message, or reply in its thread to ask a follow-up; it remembers the thread."
)


def rate_limited(seconds: float) -> str:
    """Tell the user how long to wait rather than silently dropping the question."""
    wait = max(1, math.ceil(seconds))
    unit = "second" if wait == 1 else "seconds"
    return f"You're asking faster than I can answer. Please try again in {wait} {unit}."


def omitted_note(count: int) -> str:
    """Why the answer is shorter than what was generated."""
    noun = "sentence was" if count == 1 else "sentences were"
    return f"{count} {noun} left out because the cited passages don't back them."


def more(count: int) -> str:
    """Say how much was cut, so a shortened list never looks complete."""
    return f"…and {count} more"


def shared_by(user_id: str) -> str:
    """Attribution when an answer is reposted, so readers know who shared it."""
    return f"Shared by <@{re.sub(r'[^A-Za-z0-9]', '', user_id)}>"


def stale_answer(source: str, document: str, changed_at: datetime | str | None,
                 removed: bool = False, now: str = "") -> str:
    """Warn that an earlier answer rests on a document that has since changed; ``now``
    is how its new version reads beside a source ("commit 1a2b3c4 · committed …")."""
    what = "was removed" if removed else "changed"
    version = f" (now {escape(truncate(now, 120))})" if now.strip() and not removed else ""
    return (f":warning: *{escape(truncate(document, 200))}* in {escape(source)} {what} "
            f"{date(changed_at, 'recently')}{version}, after this answer was written. "
            "Ask again for a fresh answer.")


def refresh_started(sources: Sequence[str]) -> str:
    names = ", ".join(f"*{escape(s)}*" for s in sources)
    return f"Checking {names} for changes to the documents cited here…"


def reindex_started(source: str | None) -> str:
    """Acknowledge at once: a re-index takes minutes and the admin should not retry."""
    what = f"*{escape(source)}*" if source else "all sources"
    return f"Re-indexing {what}. I'll post the result here when it's done."


REINDEX_ALREADY_RUNNING = ("A re-index is already running (started by you or another admin); "
                           "its result goes to whoever started it. Nothing new was started.")


def reindex_progress(source: str | None, done: int, total: int) -> str:
    """Shown in place while a long re-index runs, so it visibly moves."""
    what = f"*{escape(source)}*" if source else "all sources"
    return f"Re-indexing {what}: {done} of {total} documents checked."


def sync_counts(added: int, updated: int, unchanged: int, deleted: int, failed: int,
                seconds: float) -> str:
    """One line of sync counts, the same in results, App Home and status."""
    return (f"{added} added · {updated} updated · {unchanged} unchanged · {deleted} deleted · "
            f"{failed} failed · {seconds:.1f} s")


def reindex_finished(source: str | None, added: int, updated: int, unchanged: int,
                     deleted: int, failed: int, seconds: float) -> str:
    """Counts let an admin check the sync picked up the change they expected."""
    what = f"*{escape(source)}*" if source else "all sources"
    mark = ":warning:" if failed else ":white_check_mark:"
    return (f"{mark} Re-indexed {what}: "
            f"{sync_counts(added, updated, unchanged, deleted, failed, seconds)}.")


def reindex_failed(source: str | None) -> str:
    """No internals here: the message may be seen in a channel; details stay in logs."""
    what = f"*{escape(source)}*" if source else "the sources"
    return (f":x: Re-indexing {what} failed. The previous index is still in use; "
            "the details are in PolicyBot's logs and App Home.")


def refreshed(sources: Sequence[str], changed: Sequence[str]) -> str:
    """What a refresh found: which cited documents changed since the answer."""
    names = ", ".join(escape(s) for s in sources) or "the cited sources"
    if not changed:
        return f"Refreshed {names}: nothing the answers here cite has changed."
    docs = "\n".join(f"• {escape(truncate(d, 200))}" for d in changed[:20])
    extra = f"\n{more(len(changed) - 20)}" if len(changed) > 20 else ""
    return (f"Refreshed {names}. These cited documents changed, so ask again for a fresh "
            f"answer:\n{docs}{extra}")


def unknown_source(name: str, known: Sequence[str]) -> str:
    """List the valid names so the next attempt succeeds."""
    listed = ", ".join(f"`{escape(k)}`" for k in known) or "none configured"
    return f"There's no source called `{escape(truncate(name, 80))}`. Known sources: {listed}."


def last_sync(status: str, when: datetime | str | float | None) -> str:
    """When and how the latest sync ended, in the reader's timezone."""
    icon = {"ok": ":white_check_mark:", "partial": ":warning:", "failed": ":x:"}.get(status, "")
    return f"Last sync {date(when)} {icon} {escape(status)}".rstrip()


def next_sync(when: datetime | str | float | None) -> str:
    """When the index will next pick up changes on its own."""
    return f"Next sync {date(when, NOT_SCHEDULED)}"


def reindex_confirm_title(source: str) -> str:
    """Name the source in the confirm dialog so the wrong button is caught."""
    return truncate(f"Re-index {source}?", 100)


def reindex_confirm_text(source: str) -> str:
    """Reassure that answering keeps working while a re-index runs."""
    return truncate(f"PolicyBot will re-read every document in {source} now. Answers keep "
                    "working meanwhile.", 300)


def source_counts(documents: int, chunks: int) -> str:
    """How much of a source is searchable."""
    return (f"{documents} document{'' if documents == 1 else 's'} · "
            f"{chunks} passage{'' if chunks == 1 else 's'}")


def sync_error(error: str) -> str:
    """A sync error for admins, on one line and short enough to scan."""
    return f":x: {escape(truncate(' '.join(error.split()), 300))}"


def failed_document(path: str, reason: str) -> str:
    """One document a sync could not read, so its owner can fix it."""
    return f"• `{escape(truncate(path, 120))}`: {escape(truncate(' '.join(reason.split()), 160))}"


def unconfigured_sources(names: Sequence[str]) -> str:
    """Sources still answering questions although removed from the config."""
    listed = ", ".join(f"`{escape(n)}`" for n in names)
    return f"Still in the index but no longer configured: {listed}"


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """A text bar: Slack has no progress widget."""
    share = 0.0 if total <= 0 else min(1.0, max(0.0, done / total))
    filled = round(share * width)
    return f"`{'█' * filled}{'░' * (width - filled)}` {share:.0%}"


# native feedback (issue 12)
# The feedback_buttons element shows plain text only (75 characters at most); screen readers
# read the accessibility labels instead (75 characters at most as well).
FEEDBACK_POSITIVE = "👍"
FEEDBACK_NEGATIVE = "👎"
FEEDBACK_POSITIVE_LABEL = "This answer was helpful"
FEEDBACK_NEGATIVE_LABEL = "This answer was not helpful: tell us what was wrong"
# Fallback text of the second and later messages of an answer too long for one message.
ANSWER_CONTINUED = "(continued)"

# agent view (issue 12)
AGENT_GREETING = ("Hi! I answer questions about the company's policies from the handbook, "
                  "and every answer links the passages it comes from. Ask me anything "
                  "here, or start with one of the suggestions.")
SUGGESTED_PROMPTS_TITLE = "Try asking"

# App Home, admins only: the week's biggest gaps in the handbook (bot/reports/weekly.py)
GAPS_TITLE = "*This week's gaps*: questions the handbook did not answer, similar ones grouped"
GAPS_NONE = "No unanswered questions in the last 7 days."
GAPS_HINT = ("Only admins see this. `policybot report --since 7d --html report.html` "
             "writes the full report: gaps, 👎 by document, most cited and oldest cited "
             "documents.")


def gap_line(question: str, asked: int, people: int) -> str:
    """One gap: how often it was asked, by how many people (never who), and its wording."""
    who = "1 person" if people == 1 else f"{people} people"
    return f"• *{asked}×* {escape(truncate(' '.join(question.split()), 200))} _({who})_"

# streaming and status (issue 12)
# The thread's status while an answer is prepared (assistant.threads.setStatus): Slack
# shows "<app name> <status>" and rotates through the loading messages.
STATUS_WORKING = "is looking this up…"
LOADING_MESSAGES = ("Searching the handbook…", "Reading the passages that match…",
                    "Checking every citation…", "Writing the answer…")
STOPPED = "Stopped. Nothing more will be added to this answer; ask again whenever you like."


def session_title(question: str) -> str:
    """The agent session's title (its name in the user's list of conversations)."""
    return truncate(" ".join(question.split()), 60) or "Policy question"
