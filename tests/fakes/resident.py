"""A simulated resident: a person talking to a real ``Application`` through the fake Bot API.

``TelegramUser`` feeds real update dicts to the Application and reports, as an ``Exchange``, the
API calls the bot made in response; an exception a handler raised fails the test.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application

from tests.fakes.bot_api import FakeTelegram
from tests.fakes.builders import message_update, press_update, text_update, user_json
from tests.fakes.records import JSON, ApiCall, BotMessage

# Where a forwarded photo or voice message came from: a sender who hides their account.
FORWARD_ORIGIN: JSON = {"type": "hidden_user", "sender_user_name": "95588", "date": 1764700000}


@dataclass
class Exchange:
    """One update delivered to the bot and the API calls the bot made while handling it."""

    update: JSON
    calls: list[ApiCall]

    @property
    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    @property
    def texts(self) -> list[str]:
        """Texts the bot successfully sent or edited in, as sent (markup included)."""
        return [
            c.params["text"]
            for c in self.calls
            if c.ok and c.method in ("sendMessage", "editMessageText")
        ]

    @property
    def answered(self) -> bool:
        """Whether the callback query got a successful answerCallbackQuery."""
        return any(c.ok and c.method == "answerCallbackQuery" for c in self.calls)

    @property
    def errors(self) -> list[ApiCall]:
        """Calls Telegram refused (the bot saw an exception for each)."""
        return [call for call in self.calls if not call.ok]


class _ErrorCatcher(logging.Handler):
    """Collects exceptions PTB would only log, so a crashing handler fails the test."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


class TelegramUser:
    """A person (in a private chat or a group) talking to a real, initialized Application."""

    def __init__(
        self,
        fake: FakeTelegram,
        app: Application[Any, Any, Any, Any, Any, Any],
        user_id: int = 1001,
        first_name: str = "Li",
        language_code: str | None = "zh-hans",
        chat_id: int | None = None,
        chat_type: Literal["private", "group", "supergroup"] = "private",
        title: str | None = None,
        username: str | None = None,
        raise_errors: bool = True,
    ) -> None:
        self.fake, self.app, self.raise_errors = fake, app, raise_errors
        self.user = user_json(user_id, first_name, language_code=language_code, username=username)
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError("a private chat's id is the user's id")
            chat_id = user_id
        elif chat_id is None or chat_id >= 0:
            raise ValueError("group chats need a negative chat_id")
        self.chat_id: int = chat_id
        self.chat = fake.add_chat(
            chat_id,
            chat_type=chat_type,
            first_name=first_name,
            title=title,
            username=username if chat_type == "private" else None,
        )
        self.last_update: JSON | None = None

    # -- what the user sees -----------------------------------------------------------------

    @property
    def last(self) -> BotMessage:
        """The newest bot message still in this chat (LookupError if there is none)."""
        message = self.fake.last_message(self.chat_id)
        if message is None:
            raise LookupError(f"no bot message in chat {self.chat_id}")
        return message

    def texts(self) -> list[str]:
        """Current texts (as sent, edits applied) of bot text messages still in the chat."""
        messages = self.fake.messages.get(self.chat_id, {}).values()
        return [m.text for m in messages if not m.deleted and m.kind == "text"]

    # -- actions ----------------------------------------------------------------------------

    async def send(self, text: str) -> Exchange:
        """Type a message; a leading "/command" gets its bot_command entity like on Telegram."""
        return await self._deliver(self.text_update(text))

    def text_update(self, text: str) -> JSON:
        """Build (not deliver) a text message update, e.g. for ``fake.push_update`` polling."""
        return text_update(self.fake, self.user, self.chat, text)

    async def forward(self, text: str, *, sender: str = "95588", caption: bool = False) -> Exchange:
        """Forward a message someone else sent (an SMS-like text from ``sender``); with
        ``caption`` it comes as a forwarded photo with the text as its caption."""
        origin: JSON = {"type": "hidden_user", "sender_user_name": sender, "date": 1764700000}
        if not caption:
            return await self._deliver(
                self.message_update({"text": text, "forward_origin": origin})
            )
        file_id, unique_id = self.fake.next_file_id("AgAC")
        photo = [{"file_id": file_id, "file_unique_id": unique_id, "width": 90, "height": 67}]
        content: JSON = {"photo": photo, "caption": text, "forward_origin": origin}
        return await self._deliver(self.message_update(content))

    async def sticker(self, emoji: str = "👍") -> Exchange:
        file_id, unique_id = self.fake.next_file_id("CAAC")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "FinLitTestStickers",
            "file_size": 23_456,
        }
        return await self._deliver(self.message_update({"sticker": sticker}))

    async def photo(self, caption: str | None = None, *, forwarded: bool = False) -> Exchange:
        sizes = []
        for width, height, size in ((90, 67, 1_312), (320, 240, 14_870), (1280, 960, 98_231)):
            file_id, unique_id = self.fake.next_file_id("AgAC")
            sizes.append(
                {"file_id": file_id, "file_unique_id": unique_id, "file_size": size}
                | {"width": width, "height": height}
            )
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
        if forwarded:
            content["forward_origin"] = FORWARD_ORIGIN
        return await self._deliver(self.message_update(content))

    async def voice(self, duration: int = 3, *, forwarded: bool = False) -> Exchange:
        file_id, unique_id = self.fake.next_file_id("AwAC")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 2_900 * duration,
        }
        content: JSON = {"voice": voice}
        if forwarded:
            content["forward_origin"] = FORWARD_ORIGIN
        return await self._deliver(self.message_update(content))

    async def press(self, label: str, message: BotMessage | int | None = None) -> Exchange:
        """Tap the inline button labelled ``label`` (exact, else a unique substring match)."""
        msg = self._target(message)
        return await self.press_data(msg.callback_data(label), msg)

    async def press_data(self, data: str, message: BotMessage | int | None = None) -> Exchange:
        """Send a callback query with arbitrary (possibly forged) data from a bot message."""
        return await self._deliver(self.press_update(data, message))

    def press_update(self, data: str, message: BotMessage | int | None = None) -> JSON:
        """Build (not deliver) a callback query update from a bot message."""
        return press_update(self.fake, self.user, self._target(message), data)

    async def submit(self, update: JSON) -> None:
        """Hand an update to the bot without waiting for it to be handled (a burst of taps)."""
        self.last_update = update
        await self.app.process_update(Update.de_json(copy.deepcopy(update), self.app.bot))

    async def replay(self, update: JSON | None = None) -> Exchange:
        """Deliver an update again unchanged (same update_id), as Telegram does on redelivery."""
        update = update if update is not None else self.last_update
        if update is None:
            raise LookupError("nothing to replay yet")
        return await self._deliver(update)

    # -- plumbing ---------------------------------------------------------------------------

    def _target(self, message: BotMessage | int | None) -> BotMessage:
        chat_messages = self.fake.messages.get(self.chat_id, {})
        if message is None:
            with_buttons = [m for m in chat_messages.values() if m.buttons and not m.deleted]
            if not with_buttons:
                raise LookupError(f"no bot message with buttons in chat {self.chat_id}")
            return with_buttons[-1]
        if isinstance(message, BotMessage) and message.chat_id != self.chat_id:
            raise LookupError(f"message {message.message_id} belongs to chat {message.chat_id}")
        msg_id = message if isinstance(message, int) else message.message_id
        msg = chat_messages.get(msg_id)
        if msg is None or msg.deleted:
            raise LookupError(f"message {msg_id} is not in chat {self.chat_id}")
        return msg

    def message_update(self, content: JSON) -> JSON:
        """A message update from this user with the given content (text, sticker, ...)."""
        return message_update(self.fake, self.user, self.chat, content)

    async def _deliver(self, update: JSON) -> Exchange:
        self.last_update = update
        start = len(self.fake.calls)
        catcher = _ErrorCatcher()
        logger = logging.getLogger("telegram.ext.Application")
        logger.addHandler(catcher)
        try:
            # A deep copy: PTB objects must not share state with the dict a test may replay.
            await self.app.process_update(Update.de_json(copy.deepcopy(update), self.app.bot))
            # finlit only queues the update: wait until it is handled and its replies are sent.
            settled = getattr(self.app, "settled", None)
            if settled is not None:
                await settled()
        finally:
            logger.removeHandler(catcher)
        if self.raise_errors and catcher.errors:
            raise catcher.errors[0]
        # Pollers may call getUpdates meanwhile; that is not the bot's reply to this update.
        calls = [c for c in self.fake.calls[start:] if c.method != "getUpdates"]
        return Exchange(update, calls)
