"""Where the answers of ``/policy``, ``/policy cite QUESTION`` and Share are shown.

Each is a :class:`~bot.ask.Delivery`: the Ask decides, these only show. ``/policy`` and
cite reply through the command's ``response_url`` (visible to the asker only); Share
posts in the channel for everyone.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Respond
from slack_sdk.errors import SlackApiError

from bot.ask import AskResult, Delivery, Placement, Question
from bot.slack import kit, limits, messages
from bot.slack.blocks import SlackMessage, answer_messages
from bot.slack.blocks_cite import cite_blocks
from bot.slack.conversation import InConversation
from bot.slack.long_answers import send_all
from bot.slack.outcome import failure_text
from bot.slack.services import Services


def refused(svc: Services, user_id: str, reply: Callable[[str], None]) -> bool:
    """For the requests that are not questions (cite of an earlier answer, refresh): a
    guest, an outsider or an unknown user is told why, once, here. Questions get the same
    check from the Ask's who-step."""
    refusal = svc.access.refusal(user_id)
    if refusal:
        reply(refusal)
    return bool(refusal)


class Ephemeral(Delivery):
    """``/policy QUESTION``: the answer replaces "Searching the policies…", with a Share
    button; only the asker sees it."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond

    def refuse(self, text: str) -> None:
        self.respond(response_type="ephemeral", replace_original=True, text=text)

    def fail(self, error: Exception) -> None:
        self.refuse(failure_text(error))

    def deliver(self, result: AskResult) -> Placement | None:
        assert result.answer is not None
        # A long answer goes on in more ephemeral replies; a response_url takes 5 at most,
        # one of them kept for the Sources if they need a message of their own.
        parts = answer_messages(result.answer, answer_id=result.answer_id, share=True,
                                max_messages=limits.RESPONSE_URL_USES - 1)
        for i, part in enumerate(parts[:limits.RESPONSE_URL_USES]):
            self.respond(response_type="ephemeral", replace_original=i == 0,
                         text=part["text"], blocks=part["blocks"])
        return Placement()


class Cited(Ephemeral):
    """``/policy cite QUESTION``: the passages that answer the question now."""

    def refuse(self, text: str) -> None:
        self.respond(response_type="ephemeral", text=text)

    def deliver(self, result: AskResult) -> Placement | None:
        assert result.answer is not None
        self.respond(response_type="ephemeral", text=messages.CITE_TITLE,
                     blocks=cite_blocks(result.answer))
        return Placement()


class Shared(InConversation):
    """Share in channel: an answer from public documents is posted again as it was (the
    feedback buttons still point at the original); one that drew on the asker's audiences
    is asked again, from public documents only, in a placeholder that fills in. The
    ephemeral original goes once the public message is up; refusals replace nothing."""

    def __init__(self, svc: Services, q: Question, respond: Respond,
                 original_id: str) -> None:
        super().__init__(svc, q)
        self.respond, self.original_id = respond, original_id

    def refuse(self, text: str) -> None:
        self.respond(response_type="ephemeral", replace_original=False, text=text)

    def start(self) -> Placement | None:
        answer = self.q.reuse
        if answer is None:
            placement = super().start()
        else:
            parts = answer_messages(answer, answer_id=self.original_id)
            if len(parts[-1]["blocks"]) < limits.MESSAGE_BLOCKS:
                parts[-1]["blocks"].append(kit.context([messages.shared_by(self.q.user_id)]))
            first: list[str] = []

            def post(part: SlackMessage) -> None:
                posted = self.svc.client.chat_postMessage(
                    channel=self.q.channel_id, thread_ts=(first or [None])[0],
                    text=part["text"], blocks=part["blocks"], unfurl_links=False,
                    unfurl_media=False)
                first.append(posted["ts"])

            try:  # a long answer goes on in the new message's thread
                send_all(parts, post, post)
            except SlackApiError as exc:
                self.svc.slack_error("chat.postMessage", exc)
                if not first:
                    self.refuse(messages.SHARE_FAILED)
                    return None
            placement = Placement(thread_ts=first[0], message_ts=first[0])
        if placement is not None:
            self.respond(delete_original=True)
        return placement

    def deliver(self, result: AskResult) -> Placement | None:
        return Placement() if self.q.reuse is not None else super().deliver(result)
