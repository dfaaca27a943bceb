"""``FakeTelegram``: an in-memory Bot API that the real PTB ``Bot`` and ``Application`` talk to.

It is a PTB ``BaseRequest``: it answers like the Bot API (same JSON shapes, status codes and
error descriptions), refuses methods it does not implement (404, recorded in
``unknown_methods``), and records every call so tests assert on what was actually sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from tests.fakes import validation
from tests.fakes.errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError
from tests.fakes.faults import Fault, Faults
from tests.fakes.records import JSON, ApiCall, BotMessage, Upload, message_json


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
        self.faults = Faults()
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
            self.faults.inject(api_method, params.get("chat_id"))
            handler = self._handlers.get(api_method)
            if handler is None:
                self.unknown_methods.append(api_method)
                raise ApiError(404, "Not Found")
            result = handler(params, uploads)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as err:
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
        self.faults.add(method, Fault(status, retry_after, description, times, chat_id, skip))

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
        return message_json(msg, self.bot_user, self.chats[msg.chat_id])

    # -- shared validation ------------------------------------------------------------------

    def _chat_id(self, params: JSON) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            found = [c for c, chat in self.chats.items() if chat.get("username") == raw[1:]]
            if not found:
                raise ApiError(400, "Bad Request: chat not found")
            chat_id = found[0]
        else:
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id not in self.chats:
            self.add_chat(chat_id)
        if chat_id in self.blocked:
            chat_type = self.chats[chat_id]["type"]
            raise ApiError(
                403,
                "Forbidden: bot was blocked by the user"
                if chat_type == "private"
                else f"Forbidden: bot was kicked from the {chat_type} chat",
            )
        return chat_id

    def _check_reply_target(self, chat_id: int, params: JSON) -> None:
        reply = params.get("reply_parameters") or {}
        target = reply.get("message_id")
        if target is None or reply.get("allow_sending_without_reply"):
            return
        bot_msg = self.messages.get(chat_id, {}).get(target)
        from_user = target in self.user_messages.get(chat_id, {})
        if not from_user and (bot_msg is None or bot_msg.deleted):
            raise ApiError(400, "Bad Request: message to be replied not found")

    def _message_to_edit(self, params: JSON) -> BotMessage:
        if "inline_message_id" in params:
            raise NotImplementedError("FakeTelegram does not implement inline messages")
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id") or 0)
        msg = self.messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            if message_id in self.user_messages.get(chat_id, {}):
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return msg

    # -- methods ----------------------------------------------------------------------------

    def _new_message(self, chat_id: int, params: JSON, msg: BotMessage) -> JSON:
        """Attach keyboard, id and date to a validated message, store it, return its JSON."""
        msg.reply_markup, msg.buttons = validation.inline_keyboard(
            params.get("reply_markup"), strict=self.strict
        )
        self._check_reply_target(chat_id, params)
        msg.message_id, msg.date = self.next_message_id(chat_id), int(time.time())
        self.messages.setdefault(chat_id, {})[msg.message_id] = msg
        return self.message_json(msg)

    def _send_message(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat_id = self._chat_id(params)
        text, visible, entities = validation.compose(params, "text", strict=self.strict)
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
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(data) > 50 * 1024 * 1024:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo" and not data.startswith(validation.IMAGE_MAGIC):
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        elif not isinstance(value, str) or not value:  # neither upload nor file_id/URL
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption, visible, entities = validation.compose(params, "caption", strict=self.strict)
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
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, visible, entities = validation.compose(params, "text", strict=self.strict)
        # No reply_markup in an edit removes the keyboard, exactly as on Telegram.
        markup, buttons = validation.inline_keyboard(params.get("reply_markup"), strict=self.strict)
        if (visible, entities, markup) == (msg.visible, msg.entities, msg.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
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
        markup, buttons = validation.inline_keyboard(params.get("reply_markup"), strict=self.strict)
        if markup == msg.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        msg.reply_markup, msg.buttons, msg.edit_date = markup, buttons, int(time.time())
        return self.message_json(msg)

    def _delete_message(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id") or 0)
        if self.user_messages.get(chat_id, {}).pop(message_id, None) is not None:
            return True
        msg = self.messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        msg.deleted = True
        return True

    def _answer_callback_query(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self.queries.get(query_id, True):  # unknown or already answered
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.queries[query_id] = True
        return True

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        scope = params.get("scope") or {}
        if "chat_id" in scope and int(scope["chat_id"]) not in self.chats:
            # Telegram knows a private chat only once the user has written to the bot.
            raise ApiError(400, "Bad Request: chat not found")
        self.commands[self._commands_key(params)] = validation.commands(params)
        return True

    def _delete_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _send_chat_action(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self._chat_id(params)
        if params.get("action") not in validation.CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_updates(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
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
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True
