"""Showing the core's replies on Telegram: queued durably, in the update's own transaction.

While an update is handled (see ``processing``), ``show`` does not call Telegram: it writes each
message to the outbox in the update's transaction, so a reply exists exactly when the effects that
caused it were committed. The delivery engine (``delivery``) sends it after the commit. Button
presses are answered right after the commit, before any message is sent.
"""

from __future__ import annotations

import base64
import contextvars
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram import CallbackQuery
from telegram.error import BadRequest

from bot.core.replies import Reply
from bot.store import Store

if TYPE_CHECKING:
    from bot.telegram.delivery import DeliveryEngine

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Pending:
    """What one update's handling queued: outbox rows (durable) and query answers (not)."""

    store: Store
    delivery: DeliveryEngine | None = None
    priority: int = 0  # of the replies in the outbox (delivery.INTERACTIVE, ADMIN, BULK)
    chats: list[int] = dataclasses.field(default_factory=list)
    # Messages shown while handling, written to the outbox by ``flush`` before the commit.
    items: list[tuple[int, dict[str, Any]]] = dataclasses.field(default_factory=list)
    answers: list[tuple[CallbackQuery, str | None]] = dataclasses.field(default_factory=list)
    # Other calls to Telegram the handling asked for, made after the commit.
    later: list[Callable[[], Awaitable[object]]] = dataclasses.field(default_factory=list)
    # Set by the error handler (chat, user, their client's language): the handler's effects
    # are rolled back and only an apology is sent.
    failed: tuple[int, int, str | None] | None = None
    # The update had been handled before (a redelivery): nothing to answer or deliver.
    ignored: bool = False

    async def flush(self) -> None:
        """Write what was shown to the outbox, in the transaction that is about to commit."""
        items, self.items = self.items, []
        for chat_id, item in items:
            await self.store.outbox.add(chat_id=chat_id, payload=item, priority=self.priority)


CURRENT: contextvars.ContextVar[Pending | None] = contextvars.ContextVar(
    "finlit_pending", default=None
)


def current() -> Pending:
    """The update being handled; showing anything outside of one is a mistake."""
    pending = CURRENT.get()
    if pending is None:
        raise RuntimeError("replies are shown while an update is handled (processing.py)")
    return pending


def payloads(reply: Reply, *, edit_message_id: int | None) -> list[dict[str, Any]]:
    """A reply as outbox payloads: plain JSON, so it survives in the database."""
    out: list[dict[str, Any]] = []
    for index, screen in enumerate(reply.screens):
        keyboard = [
            [[b.label, b.data] if b.url is None else [b.label, "", b.url] for b in row]
            for row in screen.keyboard
        ]
        item: dict[str, Any] = {"kind": "text", "text": screen.text, "keyboard": keyboard}
        # Only the first screen replaces the pressed message; if it cannot, it is sent.
        if index == 0 and reply.edit and edit_message_id is not None:
            item["edit"] = edit_message_id
        out.append(item)
    for kind, files in (("photo", reply.photos), ("document", reply.documents)):
        for file in files:
            out.append(
                {
                    "kind": kind,
                    "filename": file.filename,
                    "caption": file.caption,
                    "data": base64.b64encode(file.data).decode(),
                }
            )
    for stored in reply.stored:
        # Only a reference: the part's bytes stay in the store's chunks until it is sent.
        out.append({"kind": "export", "export": stored.export_id, "part": stored.part})
    return out


async def show(chat_id: int, reply: Reply, *, edit_message_id: int | None = None) -> None:
    """Queue a reply in the current update's outbox; it is sent after the commit."""
    pending = current()
    for item in payloads(reply, edit_message_id=edit_message_id):
        pending.items.append((chat_id, item))
    if (reply.screens or reply.photos or reply.documents or reply.stored) and (
        chat_id not in pending.chats
    ):
        pending.chats.append(chat_id)


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press right after the commit (once per press)."""
    current().answers.append((query, text))


async def answer_now(query: CallbackQuery, text: str | None) -> None:
    """Answer a press now; one Telegram no longer knows about (a redelivery) is let go."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        message = exc.message.lower()
        if "query is too old" not in message and "query id is invalid" not in message:
            raise
        log.info("callback query expired before it was answered")


async def after_commit(call: Callable[[], Awaitable[object]]) -> None:
    """Call Telegram once the current update's transaction is committed."""
    current().later.append(call)
