"""What Telegram accepts in what a bot sends: texts, captions, keyboards, commands, files.

Each check raises ``ApiError`` with Telegram's status and wording; ``strict`` additionally
refuses what Telegram tolerates but is almost always a bug (see ``tests.fakes.html``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tests.fakes.errors import ApiError
from tests.fakes.html import HtmlParseError, parse_html, trim, utf16_len
from tests.fakes.records import JSON, Button

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
CHAT_ACTIONS = frozenset(
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
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"BM")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


def render(
    text: str, params: JSON, limit: int, too_long: str, *, strict: bool
) -> tuple[str, list[JSON]]:
    """Visible text and entities after parse_mode, trimmed and length-checked."""
    parse_mode = params.get("parse_mode")
    mode = str(parse_mode or "").lower()
    if mode == "html":
        try:
            visible, entities = parse_html(text, strict=strict)
        except HtmlParseError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
    elif mode in ("markdown", "markdownv2"):
        raise NotImplementedError(f"FakeTelegram does not implement parse_mode={parse_mode}")
    elif mode:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
    else:
        visible, entities = text, []
    visible, entities = trim(visible, entities)
    if utf16_len(visible) > limit:
        raise ApiError(400, f"Bad Request: {too_long}")
    return visible, entities


def compose(params: JSON, key: str, *, strict: bool) -> tuple[str, str, list[JSON]]:
    """(text as sent, visible text, entities) of a text or caption, validated."""
    raw = str(params.get(key) or "")
    if key == "text":
        visible, entities = render(raw, params, 4096, "message is too long", strict=strict)
        if not visible:
            raise ApiError(400, "Bad Request: message text is empty")
    else:
        visible, entities = render(raw, params, 1024, "message caption is too long", strict=strict)
    return raw, visible, entities


def inline_keyboard(markup: Any, *, strict: bool) -> tuple[JSON | None, list[list[Button]]]:
    """Validate an inline keyboard like Telegram; other keyboards are not echoed back."""
    if not markup or "inline_keyboard" not in markup:
        return None, []
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an '
            "Array of Arrays",
        )
    rows = [row for row in rows if row]  # Telegram drops empty rows
    if sum(len(row) for row in rows) > 100:
        raise ApiError(400, "Bad Request: reply markup is too long")
    buttons: list[list[Button]] = []
    for row in rows:
        buttons.append([])
        for raw in row:
            actions = [key for key in _BUTTON_ACTIONS if key in raw]
            if not str(raw.get("text", "")).strip() or not actions:
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1 and strict:
                raise ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: exactly one of the "
                    "optional fields must be used",
                )
            data, url = raw.get("callback_data"), raw.get("url")
            if "callback_data" in raw and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in raw and not url:
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            buttons[-1].append(Button(raw["text"], data, url))
    return ({"inline_keyboard": copy.deepcopy(rows)} if rows else None), buttons


def commands(params: JSON) -> list[JSON]:
    """The command list of setMyCommands, validated, as getMyCommands returns it."""
    given = params.get("commands") or []
    if len(given) > 100:
        raise ApiError(400, "Bad Request: too many commands")
    for command in given:
        if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": c["command"], "description": c["description"]} for c in given]
