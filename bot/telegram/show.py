"""Showing the core's replies on Telegram, and surviving Telegram's refusals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import ExtBot

from bot.core.replies import Keyboard, Reply, Screen

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_RETRIES = 3
# Telegram's answers when an edit cannot apply; the screen is sent as a new message instead.
_EDIT_IMPOSSIBLE = (
    "message to edit not found",
    "message can't be edited",
    "there is no text in the message to edit",
    "message_id_invalid",
)


def markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in keyboard]
    )


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, waiting out flood control (429) a bounded number of times."""
    for attempt in range(MAX_RETRIES + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == MAX_RETRIES:
                raise
            delay = exc.retry_after
            seconds = delay if isinstance(delay, int | float) else delay.total_seconds()
            log.warning("flood control: waiting %.1fs before retrying", seconds)
            await asyncio.sleep(seconds)
    raise AssertionError("unreachable")


async def show(
    bot: ExtBot[None], chat_id: int, reply: Reply, *, edit_message_id: int | None = None
) -> None:
    """Send (or, for the first screen of an editing reply, edit in place) every screen."""
    try:
        for index, screen in enumerate(reply.screens):
            # Only the first screen replaces the pressed message; if it cannot, it is sent.
            if (
                index == 0
                and reply.edit
                and edit_message_id is not None
                and await _edit(bot, chat_id, edit_message_id, screen)
            ):
                continue
            await _send(bot, chat_id, screen)
        for photo in reply.photos:
            await _patiently(
                lambda photo=photo: bot.send_photo(  # type: ignore[misc]
                    chat_id, InputFile(photo.data, filename=photo.filename), caption=photo.caption
                )
            )
        for doc in reply.documents:
            await _patiently(
                lambda doc=doc: bot.send_document(  # type: ignore[misc]
                    chat_id, InputFile(doc.data, filename=doc.filename), caption=doc.caption
                )
            )
    except Forbidden:
        # The resident blocked the bot or left: nothing more can reach them.
        log.info("chat unreachable (forbidden); reply dropped")


async def _send(bot: ExtBot[None], chat_id: int, screen: Screen) -> None:
    await _patiently(
        lambda: bot.send_message(
            chat_id, screen.text, parse_mode=ParseMode.HTML, reply_markup=markup(screen.keyboard)
        )
    )


async def _edit(bot: ExtBot[None], chat_id: int, message_id: int, screen: Screen) -> bool:
    """Edit a message in place; False when Telegram cannot, so the caller sends instead."""
    try:
        await _patiently(
            lambda: bot.edit_message_text(
                screen.text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(screen.keyboard),
            )
        )
    except BadRequest as exc:
        text = exc.message.lower()
        if "message is not modified" in text:
            return True  # a double press shows what is already there
        if any(reason in text for reason in _EDIT_IMPOSSIBLE):
            return False
        raise
    return True


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; a query Telegram already forgot (a redelivery) is not an error."""
    try:
        await _patiently(lambda: query.answer(text))
    except BadRequest as exc:
        if (
            "query is too old" not in exc.message.lower()
            and "query id is invalid" not in exc.message.lower()
        ):
            raise
        log.info("callback query expired before it was answered")
