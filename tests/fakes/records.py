"""What the fake Bot API records: the calls a bot made and the messages it left in chats."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]
Upload = tuple[str, bytes, str]  # (filename, content, mime type) of a multipart file


@dataclass
class ApiCall:
    """One request the bot made: method, parameters as sent, and how Telegram answered."""

    method: str
    params: JSON
    ok: bool = False
    error: str | None = None
    result: Any = None


@dataclass(frozen=True)
class Button:
    """An inline keyboard button as the user sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class BotMessage:
    """A message the bot sent, in its current state (edits applied).

    ``text``/``caption`` are exactly what the bot sent (markup included); ``visible`` is what the
    user reads (tags removed, entities decoded, trimmed) and ``entities`` its formatting.
    ``document`` holds the uploaded bytes for photos and documents.
    """

    message_id: int
    chat_id: int
    text: str = ""
    parse_mode: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    deleted: bool = False
    kind: Literal["text", "photo", "document"] = "text"
    filename: str | None = None
    caption: str | None = None
    document: bytes | None = None
    visible: str = ""
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    date: int = 0
    edit_date: int | None = None
    file_id: str | None = None
    mime_type: str | None = None

    @property
    def labels(self) -> list[str]:
        """Button labels, row by row."""
        return [button.text for row in self.buttons for button in row]

    def button(self, label: str) -> Button:
        """The button labelled ``label`` (exact, else a unique substring match)."""
        buttons = [b for row in self.buttons for b in row]
        matches = [b for b in buttons if b.text == label] or [b for b in buttons if label in b.text]
        if len(matches) != 1:
            problem = "ambiguous" if matches else "not found"
            raise LookupError(
                f"button {label!r} {problem} on message {self.message_id}; labels: {self.labels}"
            )
        return matches[0]

    def callback_data(self, label: str) -> str:
        """What pressing the button labelled ``label`` sends (ValueError for a URL button)."""
        data = self.button(label).callback_data
        if data is None:
            raise ValueError(f"button {label!r} has no callback_data; pressing it sends no update")
        return data


def message_json(msg: BotMessage, bot: JSON, chat: JSON) -> JSON:
    """The message as Telegram would return it (or embed it in a callback query)."""
    data: JSON = {
        "message_id": msg.message_id,
        "from": {k: bot[k] for k in ("id", "is_bot", "first_name", "username")},
        "chat": dict(chat),
        "date": msg.date,
    }
    if msg.edit_date is not None:
        data["edit_date"] = msg.edit_date
    entities_key = "entities"
    if msg.kind == "text":
        data["text"] = msg.visible
    else:
        entities_key = "caption_entities"
        if msg.kind == "photo":
            data["photo"] = [
                {"file_id": f"{msg.file_id}-s", "file_unique_id": f"{msg.file_id}-us"}
                | {"width": 90, "height": 90, "file_size": 1024},
                {"file_id": msg.file_id, "file_unique_id": f"{msg.file_id}-u"}
                | {"width": 800, "height": 800, "file_size": len(msg.document or b"")},
            ]
        else:
            data["document"] = {
                "file_id": msg.file_id,
                "file_unique_id": f"{msg.file_id}-u",
                "file_name": msg.filename,
                "mime_type": msg.mime_type,
                "file_size": len(msg.document or b""),
            }
        if msg.visible:
            data["caption"] = msg.visible
    if msg.entities:
        data[entities_key] = copy.deepcopy(msg.entities)
    if msg.reply_markup:
        data["reply_markup"] = copy.deepcopy(msg.reply_markup)
    return data
