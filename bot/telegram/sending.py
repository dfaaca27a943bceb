"""Carrying out one queued message, and the small judgements delivery makes about messages.

``delivery.DeliveryEngine`` decides *when* a message goes; this module says *how*: the Bot API
call for a queued payload (an edit Telegram finds unchanged is a success; what a refusal means is
``retry.classify``'s to say), which queued edits a newer one supersedes, what a chat shows (for
telling an edit that changes nothing), and how an error is named in a one-line log.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
from collections.abc import Iterable
from typing import Any, Protocol

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.core.models import Queued
from bot.store.exports import PartFile

# Up to 45 MB over an office connection: the default 20 s would cut most uploads short.
EXPORT_UPLOAD_SECONDS = 300.0


def digest(payload: dict[str, Any]) -> str:
    """What a text message shows (text and buttons), for telling an unchanged edit."""
    shown = json.dumps([payload.get("text"), payload.get("keyboard")], ensure_ascii=False)
    return hashlib.blake2b(shown.encode(), digest_size=12).hexdigest()


class Shown:
    """What each chat shows (by message), remembered for the last ``size`` messages sent, so an
    edit that would change nothing is not sent."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._digests: collections.OrderedDict[tuple[int, int], str] = collections.OrderedDict()

    def unchanged(self, chat_id: int, payload: dict[str, Any]) -> bool:
        edit = payload.get("edit")
        if payload.get("kind") != "text" or edit is None:
            return False
        return self._digests.get((chat_id, int(edit))) == digest(payload)

    def remember(self, chat_id: int, message_id: int, payload: dict[str, Any]) -> None:
        key = (chat_id, message_id)
        self._digests[key] = digest(payload)
        self._digests.move_to_end(key)
        while len(self._digests) > self._size:
            self._digests.popitem(last=False)


def superseded(queued: Iterable[Queued]) -> list[Queued]:
    """Queued edits that a later edit of the same message makes pointless (the newest wins)."""
    latest: dict[int, int] = {}
    messages = list(queued)
    for message in messages:
        edit = message.payload.get("edit")
        if message.payload.get("kind") == "text" and edit is not None:
            latest[int(edit)] = message.id
    return [
        m
        for m in messages
        if m.payload.get("kind") == "text"
        and m.payload.get("edit") is not None
        and latest[int(m.payload["edit"])] != m.id
    ]


def describe(exc: BaseException) -> str:
    """An error for a log line: its class, and an HTTP status if it names one; never the body
    (an HTML error page, or a message quoting the request)."""
    text = str(exc)
    for word in text.replace("(", " ").replace(")", " ").split():
        if word.isdigit() and len(word) == 3:
            return f"{type(exc).__name__} {word}"
    return type(exc).__name__


def button(label: str, data: str, url: str | None = None) -> InlineKeyboardButton:
    """A queued button: ``[label, data]`` sends data back, ``[label, "", url]`` opens a link."""
    if url:
        return InlineKeyboardButton(label, url=url)
    return InlineKeyboardButton(label, callback_data=data)


class StoredParts(Protocol):
    """Where an export's parts are read from (the store's ``exports``)."""

    async def read_part(self, *, export_id: int, part: int) -> PartFile | None: ...


class PartGone(Exception):
    """The export part a queued message refers to was purged: there is nothing to send."""


async def send_payload(
    bot: ExtBot[None], chat_id: int, item: dict[str, Any], stored: StoredParts | None = None
) -> int | None:
    """Carry out one queued message; the id of the message now showing it (None: an edit that
    Telegram found unchanged)."""
    kind = item["kind"]
    if kind == "export":
        found = (
            await stored.read_part(export_id=item["export"], part=item["part"]) if stored else None
        )
        if found is None:
            raise PartGone
        sent_part: Message = await bot.send_document(
            chat_id,
            InputFile(found.data, filename=found.filename),
            caption=found.caption,
            write_timeout=EXPORT_UPLOAD_SECONDS,
        )
        return sent_part.message_id
    if kind in ("photo", "document"):
        file = InputFile(base64.b64decode(item["data"]), filename=item["filename"])
        method = bot.send_photo if kind == "photo" else bot.send_document
        sent: Message = await method(chat_id, file, caption=item["caption"])
        return sent.message_id
    rows = item["keyboard"]
    keyboard = (
        InlineKeyboardMarkup([[button(*entry) for entry in row] for row in rows]) if rows else None
    )
    edit = item.get("edit")
    if edit is not None:
        try:
            await bot.edit_message_text(
                item["text"],
                chat_id=chat_id,
                message_id=edit,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            )
        except BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                return None  # a double press shows what is already there
            raise  # an edit that cannot apply is retry.Kind.GONE: the engine sends it anew
        return int(edit)
    message = await bot.send_message(
        chat_id, item["text"], parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    return message.message_id
