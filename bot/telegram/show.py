"""Showing the core's replies on Telegram: queued durably, delivered after the commit.

Inside the handling of an update (see ``processing``), ``show`` does not call Telegram: it writes
each message to the outbox in the update's own transaction, so a reply exists exactly when the
effects that caused it were committed. ``deliver`` then sends the chat's queued messages in order
and deletes each one Telegram accepted; whatever a crash or an outage leaves behind is sent later.
"""

from __future__ import annotations

import base64
import contextvars
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import ExtBot

from bot.core.replies import Reply
from bot.store import Store

log = logging.getLogger(__name__)
# After this many failed deliveries a message is dropped (and logged): it is not going through.
MAX_DELIVERY_ATTEMPTS = 8
# Telegram's answers when an edit cannot apply; the screen is sent as a new message instead.
_EDIT_IMPOSSIBLE = (
    "message to edit not found",
    "message can't be edited",
    "there is no text in the message to edit",
    "message_id_invalid",
)


@dataclasses.dataclass
class Pending:
    """What one update's handling queued: outbox rows (durable) and query answers (not)."""

    store: Store
    message_ids: list[int] = dataclasses.field(default_factory=list)
    chats: list[int] = dataclasses.field(default_factory=list)
    answers: list[tuple[CallbackQuery, str | None]] = dataclasses.field(default_factory=list)
    # Other calls to Telegram the handling asked for, made after the replies.
    later: list[Callable[[], Awaitable[object]]] = dataclasses.field(default_factory=list)
    # Set by the error handler (chat, user, their client's language): the handler's effects
    # are rolled back and only an apology is sent.
    failed: tuple[int, int, str | None] | None = None


CURRENT: contextvars.ContextVar[Pending | None] = contextvars.ContextVar(
    "finlit_pending", default=None
)


def payloads(reply: Reply, *, edit_message_id: int | None) -> list[dict[str, Any]]:
    """A reply as outbox payloads: plain JSON, so it survives in the database."""
    out: list[dict[str, Any]] = []
    for index, screen in enumerate(reply.screens):
        keyboard = [[[b.label, b.data] for b in row] for row in screen.keyboard]
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
    return out


async def show(
    bot: ExtBot[None], chat_id: int, reply: Reply, *, edit_message_id: int | None = None
) -> None:
    """Queue a reply in the current update's outbox, or send it at once outside of one."""
    pending = CURRENT.get()
    items = payloads(reply, edit_message_id=edit_message_id)
    if pending is None:
        for item in items:
            await send_payload(bot, chat_id, item)
        return
    for item in items:
        pending.message_ids.append(await pending.store.outbox_add(chat_id=chat_id, payload=item))
    if chat_id not in pending.chats:
        pending.chats.append(chat_id)


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press: right after the commit when handling an update, else now."""
    pending = CURRENT.get()
    if pending is not None:
        pending.answers.append((query, text))
        return
    await _answer(query, text)


async def _answer(query: CallbackQuery, text: str | None) -> None:
    try:
        await query.answer(text)
    except BadRequest as exc:
        # A redelivered press: Telegram forgot the query; there is nothing left to answer.
        message = exc.message.lower()
        if "query is too old" not in message and "query id is invalid" not in message:
            raise
        log.info("callback query expired before it was answered")


async def after_commit(call: Callable[[], Awaitable[object]]) -> None:
    """Call Telegram once the current update's transaction is committed (now, outside one)."""
    pending = CURRENT.get()
    if pending is None:
        await call()
        return
    pending.later.append(call)


async def deliver(bot: ExtBot[None], store: Store, pending: Pending) -> None:
    """After the commit: answer the presses, send each touched chat's queued messages, then
    make the other calls the handling asked for."""
    for query, text in pending.answers:
        try:
            await _answer(query, text)
        except (BadRequest, NetworkError) as exc:  # the spinner stops by itself eventually
            log.warning("could not answer a button press: %s", type(exc).__name__)
    for chat_id in pending.chats:
        await deliver_chat(bot, store, chat_id)
    for call in pending.later:
        await call()


async def deliver_chat(bot: ExtBot[None], store: Store, chat_id: int) -> bool:
    """Send a chat's queued messages in order; True when none is left."""
    blocked, queued = await store.outbox_for_chat(chat_id=chat_id)
    if blocked:
        dropped = await store.outbox_drop_chat(chat_id=chat_id)
        log.info("skipped %d message(s) to a chat that blocked the bot", dropped)
        return True
    done: list[int] = []  # forgotten together at the end: one statement, not one per message
    try:
        for message_id, item in queued:
            try:
                await send_payload(bot, chat_id, item)
            except Forbidden:
                # Blocked, or removed from the group: stop trying until they come back.
                await store.set_blocked(resident_id=chat_id, blocked=True)
                await store.outbox_drop_chat(chat_id=chat_id)
                log.info("chat unreachable (forbidden); marked blocked")
                return True
            except BadRequest as exc:
                # Telegram will refuse this message however often it is sent: drop it, loudly.
                log.error("message refused by Telegram and dropped: %s", exc.message)
            except NetworkError as exc:  # timeouts, 5xx, flood waits: the limiter gave up
                attempts = await store.outbox_failed(message_id=message_id)
                if attempts < MAX_DELIVERY_ATTEMPTS:
                    log.warning("delivery failed (%s); will retry", type(exc).__name__)
                    return False  # later messages wait, so the chat keeps its order
                log.error("message dropped after %d failed attempts", attempts)
            done.append(message_id)
        return True
    finally:
        await store.outbox_sent(ids=done)


async def deliver_all(bot: ExtBot[None], store: Store) -> int:
    """Send everything left in the outbox (after a crash or an outage); returns chats retried."""
    chats = sorted({chat for _, chat, _ in await store.outbox_pending()})
    for chat_id in chats:
        await deliver_chat(bot, store, chat_id)
    return len(chats)


async def send_payload(bot: ExtBot[None], chat_id: int, item: dict[str, Any]) -> None:
    """Carry out one queued message."""
    kind = item["kind"]
    if kind in ("photo", "document"):
        file = InputFile(base64.b64decode(item["data"]), filename=item["filename"])
        method = bot.send_photo if kind == "photo" else bot.send_document
        await method(chat_id, file, caption=item["caption"])
        return
    rows = item["keyboard"]
    keyboard = (
        InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in rows
            ]
        )
        if rows
        else None
    )
    edit = item.get("edit")
    if edit is not None and await _edit(bot, chat_id, edit, item["text"], keyboard):
        return
    await bot.send_message(chat_id, item["text"], parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def _edit(
    bot: ExtBot[None],
    chat_id: int,
    message_id: int,
    text: str,
    keyboard: InlineKeyboardMarkup | None,
) -> bool:
    """Edit a message in place; False when Telegram cannot, so the caller sends instead."""
    try:
        await bot.edit_message_text(
            text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
        )
    except BadRequest as exc:
        reason = exc.message.lower()
        if "message is not modified" in reason:
            return True  # a double press shows what is already there
        if any(known in reason for known in _EDIT_IMPOSSIBLE):
            return False
        raise
    return True
