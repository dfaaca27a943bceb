"""One update's handling on Telegram: what is done after its transaction commits.

Handlers call the core's unit of work (``bot.core.handling``), which records the replies in the
outbox with the update's effects and its inbox done-mark. What Telegram needs after the commit
is collected here, on a ``Turn`` the handlers reach through their context (``context.turn``):
the presses to answer (at once, never paced), the chats whose new messages delivery must send,
and other calls such as publishing an administrator's command menu.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery
from telegram.error import BadRequest

from bot.core.handling import Handled, NotCommitted

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Turn:
    """What one update's handling leaves for after its commit."""

    update_id: int
    resident: int = 0  # whose update it is (processing.resident_key): their turn is taken
    priority: int = 0  # of the replies in the outbox (lanes.INTERACTIVE, ADMIN, BULK)
    # An administrator's report: run outside the write transaction (processing.reads_only).
    reads_only: bool = False
    chats: list[int] = dataclasses.field(default_factory=list)
    answers: list[tuple[CallbackQuery, str | None]] = dataclasses.field(default_factory=list)
    # Other calls to Telegram the handling asked for, made after the commit.
    later: list[Callable[[], Awaitable[object]]] = dataclasses.field(default_factory=list)
    # A unit of work committed for this update (its done-mark with it), or found it done before.
    settled: bool = False
    # The update had been handled before (a redelivery): nothing to answer or deliver.
    ignored: bool = False
    # Set by the error handler (chat, user, their client's language): the handler's effects
    # were rolled back and only an apology is sent.
    failed: tuple[int, int, str | None] | None = None
    # The unit of work itself failed (the database): nothing committed, the update is handled
    # again after a pause (dispatch.RETRY_PAUSES) rather than apologised for.
    retry: NotCommitted | None = None

    def took(self, handled: Handled) -> bool:
        """Note what a unit of work committed; False if the update had been handled before."""
        self.settled = True
        if not handled.fresh:
            self.ignored = True
            log.info("update %s was handled before; ignored", self.update_id)
            return False
        for chat_id in handled.chats:
            if chat_id not in self.chats:
                self.chats.append(chat_id)
        return True

    def answer(self, query: CallbackQuery, text: str | None = None) -> None:
        """Answer a button press right after the commit (once per press)."""
        self.answers.append((query, text))

    def after_commit(self, call: Callable[[], Awaitable[object]]) -> None:
        """Call Telegram once the update's transaction is committed."""
        self.later.append(call)


async def answer_now(query: CallbackQuery, text: str | None) -> None:
    """Answer a press now; one Telegram no longer knows about (a redelivery) is let go."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        message = exc.message.lower()
        if "query is too old" not in message and "query id is invalid" not in message:
            raise
        log.info("callback query expired before it was answered")
