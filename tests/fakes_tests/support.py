"""What the fakes' own tests share: a chat, a keyboard, an update, the last error."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from tests.fakes.bot_api import FakeTelegram
from tests.fakes.records import JSON

CHAT = 1001
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def keyboard(*labels_and_data: tuple[str, str]) -> InlineKeyboardMarkup:
    """One button a row."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in labels_and_data]
    )


def text_update(text: str) -> JSON:
    """A bare update without update_id; push_update numbers it."""
    chat = {"id": CHAT, "type": "private", "first_name": "Li"}
    return {"message": {"message_id": 1, "date": 0, "chat": chat, "text": text}}


def last_error(fake: FakeTelegram) -> str | None:
    """Telegram's exact description; PTB re-capitalises it in the exception message."""
    return fake.calls[-1].error
