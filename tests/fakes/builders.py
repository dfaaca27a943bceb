"""Updates as a Telegram client makes them: a message typed, a button pressed.

Each builder numbers the update and the message as the fake would, and lets the fake remember
a user's message (so replying to it or deleting it behaves like Telegram). Deliver the result
with ``Application.process_update`` or queue it with ``FakeTelegram.push_update``.
"""

from __future__ import annotations

import re
import time

from tests.fakes.bot_api import FakeTelegram
from tests.fakes.html import utf16_len
from tests.fakes.records import JSON, BotMessage

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?")


def user_json(
    user_id: int,
    first_name: str = "Resident",
    *,
    language_code: str | None = None,
    username: str | None = None,
) -> JSON:
    """A Telegram user (a person, not a bot)."""
    user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def message_update(fake: FakeTelegram, user: JSON, chat: JSON, content: JSON) -> JSON:
    """A message update from ``user`` in ``chat`` with the given content (text, sticker, ...)."""
    message = {
        "message_id": fake.next_message_id(chat["id"]),
        "from": dict(user),
        "chat": dict(chat),
        "date": int(time.time()),
        **content,
    }
    fake.note_user_message(chat["id"], message)
    return {"update_id": fake.next_update_id(), "message": message}


def text_update(fake: FakeTelegram, user: JSON, chat: JSON, text: str) -> JSON:
    """A text message; a leading "/command" gets its bot_command entity like on Telegram."""
    content: JSON = {"text": text}
    if command := _COMMAND.match(text):
        length = utf16_len(command.group(0))
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return message_update(fake, user, chat, content)


def press_update(fake: FakeTelegram, user: JSON, message: BotMessage, data: str) -> JSON:
    """A callback query: ``user`` presses a button carrying ``data`` under a bot message."""
    query = {
        "id": fake.issue_callback_query(),
        "from": dict(user),
        "message": fake.message_json(message),
        "chat_instance": str(-abs(message.chat_id) * 7919 - 13),
        "data": data,
    }
    return {"update_id": fake.next_update_id(), "callback_query": query}
