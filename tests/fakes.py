"""An offline Telegram Bot API for tests, plus a simulated resident who talks to the bot.

House rule: tests fake the transport, not the bot. `FakeTelegram` is a PTB `BaseRequest`, so the
real `Bot`/`Application` run unchanged; it answers like the Bot API (same JSON shapes, status
codes and error descriptions), refuses methods it does not implement, and records every call so
tests assert on what was actually sent. `TelegramUser` feeds real update dicts to a real
`Application` and reports the API calls the bot made in response.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import inspect
import itertools
import json
import logging
import re
import string
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

JSON = dict[str, Any]
Upload = tuple[str, bytes, str]  # (filename, content, mime type) of a multipart file

# --------------------------------------------------------------------------- Telegram's HTML


class HtmlParseError(ValueError):
    """Telegram refused the HTML; the message is what follows "can't parse entities: "."""


_SPACE = frozenset(" \t\r\n\v\f")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_TAGS = {
    "bold": ("b", "strong"),
    "italic": ("i", "em"),
    "underline": ("u", "ins"),
    "strikethrough": ("s", "strike", "del"),
    "spoiler": ("span", "tg-spoiler"),
    "text_link": ("a",),
    "code": ("code",),
    "pre": ("pre",),
    "blockquote": ("blockquote",),
    "custom_emoji": ("tg-emoji",),
}
_TAG_TYPES = {tag: kind for kind, tags in _ENTITY_TAGS.items() for tag in tags}


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int, *, strict: bool) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[pos] == "&"``; None if it is not one.

    Mirrors tdlib's decode_html_entity: only lt/gt/amp/quot and numeric references exist.
    tdlib makes the ';' optional; strict mode insists on it because "&amp" is nearly always a bug.
    """
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        is_hex = text.startswith(("x", "X"), end)
        end += is_hex
        digits_start = end
        allowed = string.hexdigits if is_hex else string.digits
        while end < len(text) and text[end] in allowed:
            end += 1
        digits = text[digits_start:end]
        if not digits or end - pos >= 10:
            return None
        code = int(digits, 16 if is_hex else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if text.startswith(";", end):
        return char, end + 1
    return None if strict else (char, end)


@dataclass
class _OpenTag:
    name: str
    argument: str
    start: int  # UTF-16 offset in the visible text


class _HtmlParser:
    """Telegram's HTML subset, modelled on tdlib's parse_html (same checks, same wording).

    ``strict`` additionally rejects what Telegram silently tolerates but is almost always a
    forgotten ``html.escape``: a bare '&' / unknown entity, and ``<a>`` without href.
    """

    def __init__(self, text: str, *, strict: bool) -> None:
        self.text = text
        self.strict = strict
        self.out: list[str] = []
        self.u16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def offset(self, index: int) -> int:
        """Telegram reports positions as byte offsets into the UTF-8 text."""
        return len(self.text[:index].encode())

    def emit(self, chars: str) -> None:
        self.out.append(chars)
        self.u16 += utf16_len(chars)

    def parse(self) -> tuple[str, list[JSON]]:
        text, i = self.text, 0
        while i < len(text):
            if text[i] == "&":
                decoded = _decode_entity(text, i, strict=self.strict)
                if decoded is not None:
                    self.emit(decoded[0])
                    i = decoded[1]
                    continue
                if self.strict:
                    raise HtmlParseError(
                        f'Unsupported HTML entity or bare "&" at byte offset {self.offset(i)}'
                    )
            if text[i] != "<":
                self.emit(text[i])
                i += 1
            elif text.startswith("/", i + 1):
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.open:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.open[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def skip_space(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in _SPACE:
            i += 1
        return i

    def start_tag(self, begin: int) -> int:
        text, i = self.text, begin + 1
        while i < len(text) and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= len(text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.offset(begin)}")
        tag = text[begin + 1 : i].lower()
        if tag not in _TAG_TYPES:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.offset(begin)}'
            )
        attrs, i = self.attributes(tag, begin, i)
        argument = ""
        if tag == "a":
            if "href" not in attrs and self.strict:
                raise HtmlParseError(
                    f'Tag "a" must have attribute "href" at byte offset {self.offset(begin)}'
                )
            argument = attrs.get("href", "")
        elif tag == "code" and attrs.get("class", "").startswith("language-"):
            argument = attrs["class"].removeprefix("language-")
        elif tag == "span":
            if attrs.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {self.offset(begin)}'
                )
        elif tag == "tg-emoji":
            argument = attrs.get("emoji-id", "")
            if not argument.isdigit() or int(argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
        elif tag == "blockquote" and "expandable" in attrs:
            argument = "expandable"
        self.open.append(_OpenTag(tag, argument, self.u16))
        return i

    def attributes(self, tag: str, begin: int, i: int) -> tuple[dict[str, str], int]:
        """Parse attributes up to and including '>'; unknown attributes are ignored like tdlib."""
        text = self.text
        attrs: dict[str, str] = {}
        unclosed = f'Unclosed start tag "{tag}" at byte offset {self.offset(begin)}'
        while True:
            i = self.skip_space(i)
            if i >= len(text):
                raise HtmlParseError(unclosed)
            if text[i] == ">":
                return attrs, i + 1
            name_start = i
            while i < len(text) and text[i] not in _SPACE and text[i] not in "=>":
                i += 1
            name = text[name_start:i].lower()
            if not name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self.offset(begin)}'
                )
            i = self.skip_space(i)
            if not text.startswith("=", i):
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {self.offset(begin)}'
                )
            i = self.skip_space(i + 1)
            if i >= len(text):
                raise HtmlParseError(unclosed)
            if text[i] in "'\"":
                quote, i, value = text[i], i + 1, []
                while i < len(text) and text[i] != quote:
                    # Attribute values decode entities leniently even in strict mode: URLs
                    # with raw '&' in query strings are fine on Telegram.
                    decoded = _decode_entity(text, i, strict=False) if text[i] == "&" else None
                    if decoded is not None:
                        value.append(decoded[0])
                        i = decoded[1]
                    else:
                        value.append(text[i])
                        i += 1
                if i >= len(text):
                    raise HtmlParseError(unclosed)
                attrs[name] = "".join(value)
                i += 1
            else:
                token_start = i
                while i < len(text) and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                if i < len(text) and text[i] not in _SPACE and text[i] != ">":
                    raise HtmlParseError(
                        f"Unexpected end of name token at byte offset {self.offset(token_start)}"
                    )
                attrs[name] = text[token_start:i].lower()

    def end_tag(self, begin: int) -> int:
        text = self.text
        if not self.open:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.offset(begin)}")
        i = begin + 2
        while i < len(text) and text[i] not in _SPACE and text[i] != ">":
            i += 1
        name = text[begin + 2 : i].lower()
        i = self.skip_space(i)
        if not text.startswith(">", i):
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.offset(begin)}")
        tag = self.open.pop()
        if name and name != tag.name:  # tdlib accepts "</>" as closing whatever is open
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        self.close(tag)
        return i + 1

    def close(self, tag: _OpenTag) -> None:
        length = self.u16 - tag.start
        if length <= 0:  # Telegram drops empty entities
            return
        entity: JSON = {"type": _TAG_TYPES[tag.name], "offset": tag.start, "length": length}
        if tag.name == "a":
            if not tag.argument:
                return  # lenient mode: tdlib drops a link it cannot resolve
            entity["url"] = tag.argument
        elif tag.name == "code" and tag.argument and self.open and self.open[-1].name == "pre":
            entity["language"] = tag.argument  # <pre><code class="language-x"> only
        elif tag.name == "pre":
            inner = self.entities[-1] if self.entities else {}
            if "language" in inner:
                language = inner.pop("language")
                if (inner["offset"], inner["length"]) == (tag.start, length):
                    entity["language"] = language  # <pre><code class=...> is one entity
                    self.entities.pop()
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.argument
        elif tag.argument == "expandable":
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Return (visible text, MessageEntity dicts) or raise HtmlParseError like Telegram."""
    return _HtmlParser(text, strict=strict).parse()


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips leading/trailing whitespace from texts and clips entities to match."""
    stripped = text.strip()
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------- records


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


class _ApiError(Exception):
    """An error answer, turned into the Bot API's JSON error body."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def body(self) -> bytes:
        data: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return json.dumps(data).encode()


@dataclass
class _Fault:
    status: int | None
    retry_after: int
    description: str | None
    remaining: int
    chat_id: int | None = None  # only calls to this chat fail (None: any call)
    skip: int = 0  # matching calls let through before the failures start


_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"BM")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")

# --------------------------------------------------------------------------- the fake API


class FakeTelegram(BaseRequest):
    """In-memory Bot API. Pass it as ``request`` (and ``get_updates_request``) to PTB."""

    def __init__(
        self,
        *,
        strict: bool = True,
        bot_username: str = "finlit_test_bot",
        bot_first_name: str = "FinLit Test",
    ) -> None:
        self.strict = strict
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.bot_id = 123456789  # replaced by the id in the token, as on Telegram
        self.calls: list[ApiCall] = []
        self.unknown_methods: list[str] = []
        self.messages: dict[int, dict[int, BotMessage]] = {}
        self.user_messages: dict[int, dict[int, JSON]] = {}
        self.chats: dict[int, JSON] = {}
        self.blocked: set[int] = set()
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook_url = ""
        self.queries: dict[str, bool] = {}  # issued callback query id -> answered
        self._updates: list[JSON] = []
        self._updates_event = asyncio.Event()
        self._last_update_id = 0
        self._last_message_id: dict[int, int] = {}
        self._counter = itertools.count(1)
        self._faults: dict[str, list[_Fault]] = {}
        self._handlers: dict[str, Callable[[JSON, dict[str, Upload]], Any]] = {
            "getMe": lambda p, f: self.bot_user,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda p, f: self.commands.get(self._commands_key(p), []),
            "deleteMyCommands": self._delete_my_commands,
            "sendDocument": lambda p, f: self._send_file(p, f, "document"),
            "sendPhoto": lambda p, f: self._send_file(p, f, "photo"),
            "sendChatAction": self._send_chat_action,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": lambda p, f: {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            },
            "close": lambda p, f: True,
            "logOut": lambda p, f: True,
        }

    # -- BaseRequest ------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout PTB adds to getUpdates' long-poll timeout."""
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer one Bot API request with Telegram's status code and JSON body."""
        api_method = url.rsplit("/", 1)[-1]
        if match := re.search(r"/bot(\d+):", url):
            self.bot_id = int(match.group(1))
        params: JSON = dict(request_data.parameters) if request_data else {}
        uploads = self._read_uploads(request_data, params)
        call = ApiCall(api_method, params)
        self.calls.append(call)  # recorded before answering so concurrent calls keep their order
        try:
            self._inject_fault(api_method, params.get("chat_id"))
            handler = self._handlers.get(api_method)
            if handler is None:
                self.unknown_methods.append(api_method)
                raise _ApiError(404, "Not Found")
            result = handler(params, uploads)
            if inspect.isawaitable(result):
                result = await result
        except _ApiError as err:
            call.error = err.description
            return err.status, err.body()
        except (NetworkError, NotImplementedError) as err:
            call.error = str(err)
            if isinstance(err, NotImplementedError):
                self.unknown_methods.append(f"{api_method}: {err}")
            raise
        call.ok, call.result = True, result
        return 200, json.dumps({"ok": True, "result": result}).encode()

    @staticmethod
    def _read_uploads(request_data: RequestData | None, params: JSON) -> dict[str, Upload]:
        """Collect multipart files (bytes or handles) and note them in the recorded params."""
        if request_data is None or not request_data.contains_files:
            return {}
        uploads: dict[str, Upload] = {}
        for key, (filename, content, mime) in request_data.multipart_data.items():
            data = content if isinstance(content, bytes) else content.read()
            uploads[key] = (filename, data, mime)
            params.setdefault(key, {"upload": filename, "mime_type": mime, "size": len(data)})
        return uploads

    # -- test controls ----------------------------------------------------------------------

    @property
    def bot_user(self) -> JSON:
        """The getMe answer."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        first_name: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """Register (or replace) a chat; unknown ids are auto-added on first use."""
        if chat_type is None:
            chat_type = "private" if chat_id > 0 else "group"
            if str(chat_id).startswith("-100"):
                chat_type = "supergroup"
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or "User"
        else:
            chat["title"] = title or f"Group {abs(chat_id)}"
        if username:
            chat["username"] = username
        self.chats[chat_id] = chat
        return chat

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (or kicks it from the group): every send/edit gets 403."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = 429,
        retry_after: int = 2,
        description: str | None = None,
        times: int = 1,
        chat_id: int | None = None,
        skip: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given; after letting
        ``skip`` through) fail; ``status=None`` is a network error."""
        if method not in self._handlers:
            raise ValueError(f"FakeTelegram does not implement {method!r}")
        fault = _Fault(status, retry_after, description, times, chat_id, skip)
        self._faults.setdefault(method, []).append(fault)

    def push_update(self, update: JSON) -> JSON:
        """Queue an update for getUpdates (assigning update_id if missing) and wake pollers."""
        if "update_id" in update:
            self._last_update_id = max(self._last_update_id, update["update_id"])
        else:
            update["update_id"] = self.next_update_id()
        self._updates.append(update)
        self._updates_event.set()
        return update

    def next_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by both directions, as in private chats."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def next_file_id(self, prefix: str) -> tuple[str, str]:
        """A fresh (file_id, file_unique_id) pair."""
        n = next(self._counter)
        return f"{prefix}ACAgIAAxkBAAI{n:08d}", f"AgAD{n:06d}"

    def note_user_message(self, chat_id: int, message: JSON) -> None:
        """Remember a user's message so replies to it / deleting it behave like Telegram."""
        self.user_messages.setdefault(chat_id, {})[message["message_id"]] = message

    def issue_callback_query(self) -> str:
        """A new callback query id the bot may answer exactly once."""
        query_id = str(4_000_000_000_000_000_000 + next(self._counter))
        self.queries[query_id] = False
        return query_id

    def last_message(self, chat_id: int) -> BotMessage | None:
        """The bot message with the highest message_id that still exists in the chat."""
        alive = [m for m in self.messages.get(chat_id, {}).values() if not m.deleted]
        return max(alive, key=lambda m: m.message_id, default=None)

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts of successful sendMessage calls to the chat, as originally sent, in order."""
        return [
            c.params["text"]
            for c in self.calls
            if c.ok and c.method == "sendMessage" and c.result["chat"]["id"] == chat_id
        ]

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def reset_calls(self) -> None:
        self.calls.clear()

    def message_json(self, msg: BotMessage) -> JSON:
        """The message as Telegram would return it (or embed it in a callback query)."""
        bot = self.bot_user
        data: JSON = {
            "message_id": msg.message_id,
            "from": {k: bot[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": dict(self.chats[msg.chat_id]),
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

    # -- shared validation ------------------------------------------------------------------

    def _inject_fault(self, method: str, chat_id: object = None) -> None:
        faults = self._faults.get(method)
        if not faults:
            return
        matching = [f for f in faults if f.chat_id is None or str(f.chat_id) == str(chat_id)]
        if not matching:
            return
        fault = matching[0]
        if fault.skip > 0:
            fault.skip -= 1
            return
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.remove(fault)
        if fault.status is None:
            raise NetworkError(fault.description or "Fake network error: connection reset")
        if fault.status == 429:
            raise _ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        try:
            default = HTTPStatus(fault.status).phrase
        except ValueError:
            default = "Unknown Error"
        raise _ApiError(fault.status, fault.description or default)

    def _chat_id(self, params: JSON) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            found = [c for c, chat in self.chats.items() if chat.get("username") == raw[1:]]
            if not found:
                raise _ApiError(400, "Bad Request: chat not found")
            chat_id = found[0]
        else:
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise _ApiError(400, "Bad Request: chat not found") from None
        if chat_id not in self.chats:
            self.add_chat(chat_id)
        if chat_id in self.blocked:
            chat_type = self.chats[chat_id]["type"]
            raise _ApiError(
                403,
                "Forbidden: bot was blocked by the user"
                if chat_type == "private"
                else f"Forbidden: bot was kicked from the {chat_type} chat",
            )
        return chat_id

    def _render(self, text: str, params: JSON, limit: int, too_long: str) -> tuple[str, list[JSON]]:
        """Visible text and entities after parse_mode, trimmed and length-checked."""
        parse_mode = params.get("parse_mode")
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                visible, entities = parse_html(text, strict=self.strict)
            except HtmlParseError as err:
                raise _ApiError(400, f"Bad Request: can't parse entities: {err}") from None
        elif mode in ("markdown", "markdownv2"):
            raise NotImplementedError(f"FakeTelegram does not implement parse_mode={parse_mode}")
        elif mode:
            raise _ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        else:
            visible, entities = text, []
        visible, entities = _trim(visible, entities)
        if utf16_len(visible) > limit:
            raise _ApiError(400, f"Bad Request: {too_long}")
        return visible, entities

    def _inline_keyboard(self, markup: Any) -> tuple[JSON | None, list[list[Button]]]:
        """Validate an inline keyboard like Telegram; other keyboards are not echoed back."""
        if not markup or "inline_keyboard" not in markup:
            return None, []
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _ApiError(
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an '
                "Array of Arrays",
            )
        rows = [row for row in rows if row]  # Telegram drops empty rows
        if sum(len(row) for row in rows) > 100:
            raise _ApiError(400, "Bad Request: reply markup is too long")
        buttons: list[list[Button]] = []
        for row in rows:
            buttons.append([])
            for raw in row:
                actions = [key for key in _BUTTON_ACTIONS if key in raw]
                if not str(raw.get("text", "")).strip() or not actions:
                    raise _ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                if len(actions) > 1 and self.strict:
                    raise _ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: exactly one of the "
                        "optional fields must be used",
                    )
                data, url = raw.get("callback_data"), raw.get("url")
                if "callback_data" in raw and not 1 <= len(str(data).encode()) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "url" in raw and not url:
                    raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                buttons[-1].append(Button(raw["text"], data, url))
        return ({"inline_keyboard": copy.deepcopy(rows)} if rows else None), buttons

    def _check_reply_target(self, chat_id: int, params: JSON) -> None:
        reply = params.get("reply_parameters") or {}
        target = reply.get("message_id")
        if target is None or reply.get("allow_sending_without_reply"):
            return
        bot_msg = self.messages.get(chat_id, {}).get(target)
        from_user = target in self.user_messages.get(chat_id, {})
        if not from_user and (bot_msg is None or bot_msg.deleted):
            raise _ApiError(400, "Bad Request: message to be replied not found")

    def _message_to_edit(self, params: JSON) -> BotMessage:
        if "inline_message_id" in params:
            raise NotImplementedError("FakeTelegram does not implement inline messages")
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id") or 0)
        msg = self.messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            if message_id in self.user_messages.get(chat_id, {}):
                raise _ApiError(400, "Bad Request: message can't be edited")
            raise _ApiError(400, "Bad Request: message to edit not found")
        return msg

    # -- methods ----------------------------------------------------------------------------

    def _compose(self, params: JSON, key: str) -> tuple[str, str, list[JSON]]:
        """(text as sent, visible text, entities) of a text or caption, validated."""
        raw = str(params.get(key) or "")
        if key == "text":
            visible, entities = self._render(raw, params, 4096, "message is too long")
            if not visible:
                raise _ApiError(400, "Bad Request: message text is empty")
        else:
            visible, entities = self._render(raw, params, 1024, "message caption is too long")
        return raw, visible, entities

    def _new_message(self, chat_id: int, params: JSON, msg: BotMessage) -> JSON:
        """Attach keyboard, id and date to a validated message, store it, return its JSON."""
        msg.reply_markup, msg.buttons = self._inline_keyboard(params.get("reply_markup"))
        self._check_reply_target(chat_id, params)
        msg.message_id, msg.date = self.next_message_id(chat_id), int(time.time())
        self.messages.setdefault(chat_id, {})[msg.message_id] = msg
        return self.message_json(msg)

    def _send_message(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat_id = self._chat_id(params)
        text, visible, entities = self._compose(params, "text")
        msg = BotMessage(
            0, chat_id, text=text, parse_mode=params.get("parse_mode"), visible=visible
        )
        msg.entities = entities
        return self._new_message(chat_id, params, msg)

    def _send_file(self, params: JSON, uploads: dict[str, Upload], kind: str) -> JSON:
        chat_id = self._chat_id(params)
        value = params.get(kind)
        key = value.removeprefix("attach://") if isinstance(value, str) else kind
        filename: str | None = None
        data: bytes | None = None
        mime: str | None = "image/jpeg" if kind == "photo" else None
        if key in uploads:
            filename, data, mime = uploads[key]
            if not data:
                raise _ApiError(400, "Bad Request: file must be non-empty")
            if len(data) > 50 * 1024 * 1024:
                raise _ApiError(413, "Request Entity Too Large")
            if kind == "photo" and not data.startswith(_IMAGE_MAGIC):
                raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        elif not isinstance(value, str) or not value:  # neither upload nor file_id/URL
            raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption, visible, entities = self._compose(params, "caption")
        msg = BotMessage(
            0,
            chat_id,
            parse_mode=params.get("parse_mode"),
            kind="photo" if kind == "photo" else "document",
            filename=filename,
            caption=caption or None,
            document=data,
            visible=visible,
            entities=entities,
            file_id=self.next_file_id("AgAC" if kind == "photo" else "BQAC")[0],
            mime_type=mime,
        )
        return self._new_message(chat_id, params, msg)

    def _edit_message_text(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        msg = self._message_to_edit(params)
        if msg.kind != "text":
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text, visible, entities = self._compose(params, "text")
        # No reply_markup in an edit removes the keyboard, exactly as on Telegram.
        markup, buttons = self._inline_keyboard(params.get("reply_markup"))
        if (visible, entities, markup) == (msg.visible, msg.entities, msg.reply_markup):
            raise _ApiError(400, _NOT_MODIFIED)
        msg.text, msg.parse_mode, msg.visible, msg.entities = (
            text,
            params.get("parse_mode"),
            visible,
            entities,
        )
        msg.reply_markup, msg.buttons, msg.edit_date = markup, buttons, int(time.time())
        return self.message_json(msg)

    def _edit_reply_markup(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        msg = self._message_to_edit(params)
        markup, buttons = self._inline_keyboard(params.get("reply_markup"))
        if markup == msg.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        msg.reply_markup, msg.buttons, msg.edit_date = markup, buttons, int(time.time())
        return self.message_json(msg)

    def _delete_message(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id") or 0)
        if self.user_messages.get(chat_id, {}).pop(message_id, None) is not None:
            return True
        msg = self.messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise _ApiError(400, "Bad Request: message to delete not found")
        msg.deleted = True
        return True

    def _answer_callback_query(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self.queries.get(query_id, True):  # unknown or already answered
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(params.get("text", ""))) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.queries[query_id] = True
        return True

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        scope = params.get("scope") or {}
        if "chat_id" in scope and int(scope["chat_id"]) not in self.chats:
            # Telegram knows a private chat only once the user has written to the bot.
            raise _ApiError(400, "Bad Request: chat not found")
        commands = params.get("commands") or []
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: too many commands")
        for command in commands:
            if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _delete_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _send_chat_action(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self._chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_updates(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        if offset > 0:  # confirms (forgets) everything before offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        timeout = float(params.get("timeout") or 0)
        if not self._updates and timeout > 0:
            self._updates_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_event.wait(), timeout)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        return copy.deepcopy(self._updates[:limit])

    def _delete_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise _ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True


# --------------------------------------------------------------------------- the resident


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
        self.user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            self.user["username"] = username
        if language_code:
            self.user["language_code"] = language_code
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
    def last(self) -> BotMessage | None:
        """The newest bot message still in this chat."""
        return self.fake.last_message(self.chat_id)

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
        content: JSON = {"text": text}
        if command := re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?", text):
            length = utf16_len(command.group(0))
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.message_update(content)

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

    async def photo(self, caption: str | None = None) -> Exchange:
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
        return await self._deliver(self.message_update(content))

    async def voice(self, duration: int = 3) -> Exchange:
        file_id, unique_id = self.fake.next_file_id("AwAC")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 2_900 * duration,
        }
        return await self._deliver(self.message_update({"voice": voice}))

    async def press(self, label: str, message: BotMessage | int | None = None) -> Exchange:
        """Tap the inline button labelled ``label`` (exact, else a unique substring match)."""
        msg = self._target(message)
        buttons = [b for row in msg.buttons for b in row]
        matches = [b for b in buttons if b.text == label] or [b for b in buttons if label in b.text]
        if len(matches) != 1:
            problem = "ambiguous" if matches else "not found"
            raise LookupError(
                f"button {label!r} {problem} on message {msg.message_id}; labels: {msg.labels}"
            )
        if matches[0].callback_data is None:
            raise ValueError(f"button {label!r} has no callback_data; pressing it sends no update")
        return await self.press_data(matches[0].callback_data, msg)

    async def press_data(self, data: str, message: BotMessage | int | None = None) -> Exchange:
        """Send a callback query with arbitrary (possibly forged) data from a bot message."""
        return await self._deliver(self.press_update(data, message))

    def press_update(self, data: str, message: BotMessage | int | None = None) -> JSON:
        """Build (not deliver) a callback query update from a bot message."""
        msg = self._target(message)
        query = {
            "id": self.fake.issue_callback_query(),
            "from": dict(self.user),
            "message": self.fake.message_json(msg),
            "chat_instance": str(-abs(self.chat_id) * 7919 - 13),
            "data": data,
        }
        return {"update_id": self.fake.next_update_id(), "callback_query": query}

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
        message = {
            "message_id": self.fake.next_message_id(self.chat_id),
            "from": dict(self.user),
            "chat": dict(self.chat),
            "date": int(time.time()),
            **content,
        }
        self.fake.note_user_message(self.chat_id, message)
        return {"update_id": self.fake.next_update_id(), "message": message}

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


# --------------------------------------------------------------------------- over HTTP

# Parameters Telegram takes as plain strings; every other form value is JSON (as PTB encodes it).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "language_code",
        "url",
        "secret_token",
        "description",
        "short_description",
        "name",
        "emoji",
    }
)


class FakeTelegramServer:
    """The fake served over HTTP on 127.0.0.1, for running ``finlit run`` as a real process.

    It speaks just enough HTTP/1.1 for httpx (keep-alive, Content-Length bodies, form-encoded
    parameters) and hands every request to the same ``FakeTelegram``.
    """

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> FakeTelegramServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            # Long-polling clients may still hold connections; close them rather than wait.
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                _, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    key, _, value = line.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self._answer(target, headers, body)
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down under a long poll
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if "multipart/form-data" in headers.get("content-type", ""):
            return 400, b'{"ok":false,"error_code":400,"description":"uploads over HTTP not faked"}'
        params = []
        for name, raw in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
            value: Any = raw
            if name not in _STRING_PARAMS:
                try:
                    value = json.loads(raw)
                except ValueError:
                    value = raw
            params.append(RequestParameter(name, value, input_files=None))
        try:
            return await self.fake.do_request(target, "POST", RequestData(params))
        except NetworkError:
            return 502, b'{"ok":false,"error_code":502,"description":"Bad Gateway"}'


# --------------------------------------------------------------------------- finlit as a process

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


async def eventually(condition: Callable[[], object], seconds: float = 30.0) -> None:
    """Wait (bounded) until ``condition()`` is true: for work another process does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the bot did not do what was expected in time")
        await asyncio.sleep(0.02)


class FinlitProcess:
    """``finlit run`` as a real child process, talking to a fake served over HTTP.

    Used as an async context manager, it never outlives the test: a process still running at
    the end is killed.
    """

    def __init__(
        self,
        server: FakeTelegramServer,
        *,
        database_url: str,
        args: tuple[str, ...] = ("run",),
        env: dict[str, str] | None = None,
        cwd: Any = None,
        token: str = "424242:process-test-token",
    ) -> None:
        self.args = args
        self.cwd = cwd or REPO_ROOT
        self.env = {
            "PATH": __import__("os").environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO_ROOT),
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        import sys

        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    async def stop(self, timeout: float = 30) -> tuple[int, str]:
        """SIGTERM, wait for a graceful exit; (exit code, everything it logged)."""
        assert self.process is not None
        self.process.terminate()
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=timeout)
        return int(self.process.returncode or 0), stderr.decode()

    async def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def __aenter__(self) -> FinlitProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.kill()


# --------------------------------------------------------------------------- Telegram's limits

# What Telegram's message limits count: a message put in, changed in or removed from a chat.
# answerCallbackQuery, sendChatAction, getUpdates, setMyCommands... are not counted.
LIMITED_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "sendPhoto",
        "sendDocument",
        "deleteMessage",
        "copyMessage",
        "forwardMessage",
    }
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@dataclass(frozen=True)
class Refusal:
    """Why a message was refused, and Telegram's ``retry_after`` (whole seconds, at least 1)."""

    limit: Literal["overall", "per chat", "per group"]
    retry_after: int


_NEVER = float("-inf")


def _whole_seconds(wait: float) -> int:
    """Seconds until a slot frees, rounded up as Telegram's retry_after (never below 1)."""
    return max(1, int(-((1e-9 - wait) // 1)))  # ceil, float noise ignored


class TelegramLimits:
    """Telegram's message limits, for a fake that enforces them.

    * ``overall`` messages in any ``period`` seconds for the whole bot (a sliding window);
    * per chat, ``per_chat`` in any ``period`` (a sliding window) or, with ``chat_burst``, a
      token bucket of ``chat_burst`` that starts full and refills ``per_chat`` per ``period``;
    * per group (a negative chat id), with ``group_per_minute``, additionally that many in any
      ``group_period`` seconds (a sliding window).

    The defaults (0.9-s windows, no burst, no group limit) are the older benchmarks': the bot's
    clock is another process's, and messages it paced exactly a second apart can reach the fake
    a little closer. ``TelegramLimits.telegram()`` is Telegram's own, not shortened.

    ``check`` also counts, per chat, calls **repeated before retry_after**: a message to a chat
    that arrives before the retry_after last given to that chat has elapsed, or before the one
    given for the bot-wide limit (to any chat) has elapsed.
    """

    def __init__(
        self,
        overall: int = 30,
        per_chat: int = 1,
        period: float = 0.9,
        *,
        chat_burst: int | None = None,
        group_per_minute: int | None = None,
        group_period: float = 60.0,
    ) -> None:
        self.overall, self.per_chat, self.period = overall, per_chat, period
        self.chat_burst, self.group_per_minute = chat_burst, group_per_minute
        self.group_period = group_period
        self.sent: collections.deque[float] = collections.deque()
        self.chats: dict[int, collections.deque[float]] = {}  # sliding per-chat windows
        self.buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, as of when)
        self.groups: dict[int, collections.deque[float]] = {}
        self.chat_until: dict[int, float] = {}  # chat -> when its last retry_after elapses
        self.overall_until = _NEVER  # when the last bot-wide retry_after elapses
        self.accepted = 0
        self.refused: collections.Counter[str] = collections.Counter()  # limit -> 429s
        self.repeats: collections.Counter[int] = collections.Counter()  # chat -> repeats

    @classmethod
    def telegram(cls) -> TelegramLimits:
        """Telegram's limits: 30/s per bot, 1/s per chat with a burst of 3, 20/min per group."""
        return cls(30, 1, 1.0, chat_burst=3, group_per_minute=20)

    def check(self, chat_id: int, now: float) -> Refusal | None:
        """None if a message to ``chat_id`` may go at ``now`` (and count it), else why not."""
        if now < self.chat_until.get(chat_id, _NEVER) or now < self.overall_until:
            self.repeats[chat_id] += 1
        broken: list[Refusal] = []
        while self.sent and self.sent[0] <= now - self.period:
            self.sent.popleft()
        if len(self.sent) >= self.overall:
            broken.append(Refusal("overall", _whole_seconds(self.sent[0] + self.period - now)))
        tokens = 0.0
        if self.chat_burst is None:
            chat = self.chats.setdefault(chat_id, collections.deque())
            while chat and chat[0] <= now - self.period:
                chat.popleft()
            if len(chat) >= self.per_chat:
                wait = chat[0] + self.period - now
                broken.append(Refusal("per chat", _whole_seconds(wait)))
        else:
            rate = self.per_chat / self.period
            tokens, since = self.buckets.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - since) * rate)
            self.buckets[chat_id] = (tokens, now)
            if tokens < 1.0 - 1e-9:
                broken.append(Refusal("per chat", _whole_seconds((1.0 - tokens) / rate)))
        group = None
        if self.group_per_minute is not None and chat_id < 0:
            group = self.groups.setdefault(chat_id, collections.deque())
            while group and group[0] <= now - self.group_period:
                group.popleft()
            if len(group) >= self.group_per_minute:
                wait = group[0] + self.group_period - now
                broken.append(Refusal("per group", _whole_seconds(wait)))
        if broken:
            # The limit that frees last: a retry after any shorter wait would be refused again.
            refusal = max(broken, key=lambda r: r.retry_after)
            self.refused[refusal.limit] += 1
            if refusal.limit == "overall":
                self.overall_until = max(self.overall_until, now + refusal.retry_after)
            self.chat_until[chat_id] = max(
                self.chat_until.get(chat_id, _NEVER), now + refusal.retry_after
            )
            return refusal
        self.accepted += 1
        self.sent.append(now)
        if self.chat_burst is None:
            self.chats[chat_id].append(now)
        else:
            self.buckets[chat_id] = (tokens - 1.0, now)
        if group is not None:
            group.append(now)
        return None

    def refuse(self, chat_id: int, now: float) -> str:
        """'' if a message to ``chat_id`` may go now (and count it), else the limit it breaks."""
        refusal = self.check(chat_id, now)
        return refusal.limit if refusal else ""

    @property
    def repeated(self) -> int:
        """Calls repeated before retry_after, all chats together."""
        return sum(self.repeats.values())


def too_many_requests(retry_after: int = 1) -> tuple[int, bytes]:
    """Telegram's flood-control answer."""
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
    return 429, json.dumps(body).encode()


class LimitedTelegram(FakeTelegram):
    """The fake enforcing Telegram's limits on messages and its 15-s window for button answers.

    A message above ``limits`` gets 429 with the ``retry_after`` of the limit it broke (recorded
    as a refused call). A callback query answered more than ``query_window`` seconds after it
    was issued (``issue_callback_query``), by ``clock``, gets Telegram's "query is too old".
    """

    def __init__(
        self,
        *,
        limits: TelegramLimits | None = None,
        query_window: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.limits = limits if limits is not None else TelegramLimits.telegram()
        self.query_window, self.clock = query_window, clock
        self.issued_at: dict[str, float] = {}
        self.too_many: list[tuple[float, int, Refusal]] = []  # (when, chat, why) per 429
        self.too_old = 0  # answers refused as "query is too old" because of their age

    def issue_callback_query(self) -> str:
        query_id = super().issue_callback_query()
        self.issued_at[query_id] = self.clock()
        return query_id

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        now = self.clock()
        chat_id = params.get("chat_id")
        if api in LIMITED_METHODS and isinstance(chat_id, int):
            refusal = self.limits.check(chat_id, now)
            if refusal is not None:
                description = f"Too Many Requests: retry after {refusal.retry_after}"
                self.calls.append(ApiCall(api, dict(params), error=description))
                self.too_many.append((now, chat_id, refusal))
                return too_many_requests(refusal.retry_after)
        if api == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id", ""))
            issued = self.issued_at.get(query_id)
            fresh = issued is None or now - issued <= self.query_window
            if not fresh and not self.queries.get(query_id, True):
                self.queries[query_id] = True  # Telegram forgets it: a later answer fails too
                self.too_old += 1
                self.calls.append(ApiCall(api, dict(params), error=QUERY_TOO_OLD))
                return 400, _ApiError(400, QUERY_TOO_OLD).body()
        return await super().do_request(url, method, request_data)
