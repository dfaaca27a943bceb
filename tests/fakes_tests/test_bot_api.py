"""The fake Bot API answers like Telegram: shapes, edits, callback queries, faults, files."""

from __future__ import annotations

import asyncio
import datetime as dtm

import pytest
from telegram import Bot, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.fakes.bot_api import FakeTelegram
from tests.fakes.server import FakeTelegramServer
from tests.fakes_tests.support import CHAT, PNG, keyboard, last_error, text_update

# --------------------------------------------------------------------------- basics


async def test_get_me_uses_token_id_and_test_username(bot: Bot, fake: FakeTelegram) -> None:
    assert (bot.id, bot.username) == (123, "finlit_test_bot")
    assert fake.calls[0].method == "getMe" and fake.calls[0].ok


async def test_send_message_returns_telegram_shaped_message(bot: Bot, fake: FakeTelegram) -> None:
    markup = keyboard(("Next ▶", "lesson:2"))
    msg = await bot.send_message(
        CHAT, "<b>Hi</b> &amp; <i>welcome</i>", parse_mode=ParseMode.HTML, reply_markup=markup
    )
    assert msg.text == "Hi & welcome"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 0, 2),
        ("italic", 5, 7),
    ]
    assert msg.reply_markup == markup
    assert msg.from_user is not None and msg.from_user.id == bot.id
    assert msg.chat.type == "private"
    stored = fake.last_message(CHAT)
    assert stored is not None and stored.message_id == msg.message_id
    assert stored.text == "<b>Hi</b> &amp; <i>welcome</i>"
    assert stored.labels == ["Next ▶"]
    assert fake.sent_texts(CHAT) == ["<b>Hi</b> &amp; <i>welcome</i>"]


# --------------------------------------------------------------------------- keyboards


async def test_callback_data_limit_is_64_bytes_not_characters(bot: Bot, fake: FakeTelegram) -> None:
    ok_data = "课" * 21 + "a"  # 21 * 3 + 1 = 64 bytes
    bad_data = "课" * 21 + "ab"  # 65 bytes, only 23 characters
    await bot.send_message(CHAT, "ok", reply_markup=keyboard(("Go", ok_data)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(CHAT, "bad", reply_markup=keyboard(("Go", bad_data)))
    assert last_error(fake) == "Bad Request: BUTTON_DATA_INVALID"
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "empty", reply_markup=keyboard(("Go", "")))
    assert last_error(fake) == "Bad Request: BUTTON_DATA_INVALID"


async def test_invalid_buttons_and_oversized_keyboards(bot: Bot, fake: FakeTelegram) -> None:
    with pytest.raises(BadRequest):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("no action")]])
        await bot.send_message(CHAT, "x", reply_markup=markup)
    assert last_error(fake) == "Bad Request: text buttons are unallowed in the inline keyboard"
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "x", reply_markup=keyboard(("", "data")))
    assert last_error(fake) == "Bad Request: text buttons are unallowed in the inline keyboard"
    many = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"{r}.{c}", callback_data=f"{r}.{c}") for c in range(8)]
            for r in range(13)
        ]
    )
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "x", reply_markup=many)
    assert last_error(fake) == "Bad Request: reply markup is too long"


# --------------------------------------------------------------------------- edits and deletes


async def test_edit_rules(bot: Bot, fake: FakeTelegram) -> None:
    markup = keyboard(("A", "a"))
    msg = await bot.send_message(CHAT, "<b>Lesson</b>", parse_mode="HTML", reply_markup=markup)
    # Same rendered text (different tag spelling) and same markup: not modified.
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<strong>Lesson</strong>", CHAT, msg.message_id, parse_mode="HTML", reply_markup=markup
        )
    assert last_error(fake) == (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    # Omitting reply_markup removes the keyboard, so that *is* a modification.
    edited = await bot.edit_message_text("<b>Lesson</b>", CHAT, msg.message_id, parse_mode="HTML")
    assert isinstance(edited, type(msg)) and edited.reply_markup is None
    assert edited.edit_date is not None
    stored = fake.messages[CHAT][msg.message_id]
    assert stored.buttons == [] and stored.text == "<b>Lesson</b>"
    await bot.edit_message_reply_markup(CHAT, msg.message_id, reply_markup=markup)
    assert fake.messages[CHAT][msg.message_id].labels == ["A"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(CHAT, msg.message_id, reply_markup=markup)


async def test_edit_of_unknown_other_chat_or_deleted_message(bot: Bot, fake: FakeTelegram) -> None:
    msg = await bot.send_message(CHAT, "hello")
    for chat_id, message_id in [(CHAT, 999), (2002, msg.message_id)]:
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("new", chat_id, message_id)
    assert await bot.delete_message(CHAT, msg.message_id) is True
    assert fake.last_message(CHAT) is None
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("new", CHAT, msg.message_id)
    with pytest.raises(BadRequest):
        await bot.delete_message(CHAT, msg.message_id)
    assert last_error(fake) == "Bad Request: message to delete not found"


# --------------------------------------------------------------------------- callback queries


async def test_answer_callback_query_only_once_and_only_issued_ids(
    bot: Bot, fake: FakeTelegram
) -> None:
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("42")
    assert last_error(fake) == too_old
    query_id = fake.issue_callback_query()
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert last_error(fake) == "Bad Request: MESSAGE_TOO_LONG"
    assert await bot.answer_callback_query(query_id, text="x" * 200) is True
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query_id)
    assert last_error(fake) == too_old


# --------------------------------------------------------------------------- chats and faults


async def test_blocked_chat_gets_forbidden_until_unblocked(bot: Bot, fake: FakeTelegram) -> None:
    msg = await bot.send_message(CHAT, "before")
    fake.block(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edit", CHAT, msg.message_id)
    with pytest.raises(Forbidden):
        await bot.send_chat_action(CHAT, "typing")
    fake.unblock(CHAT)
    await bot.send_message(CHAT, "after")
    assert fake.sent_texts(CHAT) == ["before", "after"]


async def test_injected_faults(
    bot: Bot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PTB_TIMEDELTA, RetryAfter warns about its int retry_after (and warnings are errors).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.fail_next("sendMessage", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "hi")
        assert caught.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(CHAT, "third time lucky")
    assert [c.ok for c in fake.calls_of("sendMessage")] == [False, False, True]
    assert fake.calls_of("sendMessage")[0].error == "Too Many Requests: retry after 7"

    fake.fail_next("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(CHAT, "hi")
    fake.fail_next("sendMessage", status=None)
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "hi")
    fake.fail_next("sendMessage", status=403, description="Forbidden: user is deactivated")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(CHAT, "hi")
    with pytest.raises(ValueError, match="does not implement"):
        fake.fail_next("sendPoll")


async def test_unknown_method_is_404_and_recorded(bot: Bot, fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="Not Found"):
        await bot.send_dice(CHAT)
    assert fake.unknown_methods == ["sendDice"]
    assert fake.calls[-1].error == "Not Found"


# --------------------------------------------------------------------------- files, commands, misc


async def test_photo_and_document_uploads(bot: Bot, fake: FakeTelegram) -> None:
    msg = await bot.send_photo(
        CHAT, PNG, caption="<b>" + "c" * 1024 + "</b>", parse_mode="HTML", filename="chart.png"
    )
    assert msg.photo and msg.caption == "c" * 1024
    stored = fake.last_message(CHAT)
    assert stored is not None and stored.kind == "photo"
    assert (stored.filename, stored.document) == ("chart.png", PNG)
    with pytest.raises(BadRequest):
        await bot.send_photo(CHAT, PNG, caption="c" * 1025)
    assert last_error(fake) == "Bad Request: message caption is too long"
    with pytest.raises(BadRequest):
        await bot.send_photo(CHAT, b"not an image", filename="x.png")
    assert last_error(fake) == "Bad Request: IMAGE_PROCESS_FAILED"
    doc = await bot.send_document(CHAT, b"a,b\n1,2\n", filename="report.csv", caption="Report")
    assert doc.document is not None and doc.document.file_name == "report.csv"
    stored = fake.last_message(CHAT)
    assert stored is not None and stored.document == b"a,b\n1,2\n"
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("x", CHAT, doc.message_id)


async def test_commands_are_stored_per_language(bot: Bot, fake: FakeTelegram) -> None:
    await bot.set_my_commands([("start", "Begin"), ("help", "Help")])
    await bot.set_my_commands([("start", "开始")], language_code="zh")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="zh")] == ["开始"]
    await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Start", "capitals are not allowed")])
    assert last_error(fake) == "Bad Request: BOT_COMMAND_INVALID"
    with pytest.raises(BadRequest):
        await bot.send_chat_action(CHAT, "dancing")


@pytest.mark.parametrize("over_http", [False, True])
async def test_commands_for_one_chat_need_a_chat_telegram_knows(
    fake: FakeTelegram, over_http: bool
) -> None:
    async def check(bot: Bot) -> None:
        scope = BotCommandScopeChat(4242)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.set_my_commands([("stats", "Figures")], scope=scope)
        fake.add_chat(4242)
        await bot.set_my_commands([("stats", "Figures")], scope=scope)
        assert [c.command for c in await bot.get_my_commands(scope=scope)] == ["stats"]
        assert await bot.get_my_commands() == ()  # the default menu is another one

    if not over_http:
        async with Bot("123:ABC", request=fake, get_updates_request=fake) as bot:
            await check(bot)
        return
    async with FakeTelegramServer(fake) as server, Bot("123:ABC", base_url=server.base_url) as bot:
        await check(bot)


async def test_get_updates_offset_and_long_poll(bot: Bot, fake: FakeTelegram) -> None:
    for n in range(3):
        fake.push_update(text_update(str(n)))
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [1, 2, 3]
    assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]  # 1 and 2 confirmed
    assert await bot.get_updates(offset=4) == ()
    assert await bot.get_updates(offset=1) == ()  # confirmed updates are gone for good

    started = asyncio.get_running_loop().time()
    assert await bot.get_updates(offset=4, timeout=dtm.timedelta(milliseconds=100)) == ()
    assert asyncio.get_running_loop().time() - started >= 0.09

    async def push_soon() -> None:
        await asyncio.sleep(0.05)
        fake.push_update(text_update("late"))

    task = asyncio.create_task(push_soon())
    woken = await bot.get_updates(offset=4, timeout=5)
    await task
    assert [u.message.text for u in woken if u.message] == ["late"]

    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
