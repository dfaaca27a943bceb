"""A simulated resident talks to a real Application through the fake, polling included."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.bot_api import FakeTelegram
from tests.fakes.resident import TelegramUser
from tests.fakes_tests.support import keyboard

# --------------------------------------------------------------------------- end to end


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        f"Hello <b>{' '.join(context.args or [])}</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Next lesson ▶", "lesson:2"), ("Quit", "quit")),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    if query.data == "boom":
        raise RuntimeError("handler crashed")
    await query.edit_message_text(f"You chose {query.data}")


async def on_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Nice sticker")


@pytest.fixture
async def app(fake: FakeTelegram) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    application = (
        ApplicationBuilder().token("123:ABC").request(fake).get_updates_request(fake).build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.Sticker.ALL, on_sticker))
    await application.initialize()
    yield application
    await application.shutdown()


async def test_user_talks_to_a_real_application(
    fake: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    user = TelegramUser(fake, app)
    hello = await user.send("/start Li")
    assert hello.methods == ["sendMessage"]
    assert hello.update["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 6}
    ]
    assert user.last is not None and user.last.visible == "Hello Li"
    assert user.last.labels == ["Next lesson ▶", "Quit"]

    pressed = await user.press("Next lesson")  # unique substring match
    assert pressed.methods == ["answerCallbackQuery", "editMessageText"]
    assert pressed.answered and pressed.texts == ["You chose lesson:2"]
    assert user.texts() == ["You chose lesson:2"]  # the edit removed the keyboard
    with pytest.raises(LookupError, match="no bot message with buttons"):
        await user.press("Quit")

    # Redelivering the same callback update: the query was already answered, and the bot's
    # unhandled BadRequest surfaces in the test instead of vanishing into PTB's log.
    with pytest.raises(BadRequest, match="Query is too old"):
        await user.replay()
    assert fake.calls[-1].error == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    assert user.last_update == pressed.update

    first = await user.send("/start again")
    again = await user.replay(first.update)  # same update_id: this bot does not deduplicate
    assert again.update["update_id"] == first.update["update_id"]
    assert again.texts == first.texts == ["Hello <b>again</b>"]

    assert (await user.sticker()).texts == ["Nice sticker"]
    assert (await user.voice()).calls == []  # no handler: the bot stays silent
    assert (await user.photo(caption="receipt")).calls == []
    assert fake.unknown_methods == []


async def test_forged_data_crash_surfaces_and_groups_work(
    fake: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    group = TelegramUser(
        fake, app, user_id=1002, chat_id=-1001234567890, chat_type="supergroup", title="Class 3B"
    )
    await group.send("/start@finlit_test_bot all")
    assert group.last is not None and group.last.visible == "Hello all"
    assert fake.chats[-1001234567890] == {
        "id": -1001234567890,
        "type": "supergroup",
        "title": "Class 3B",
    }
    with pytest.raises(RuntimeError, match="handler crashed"):
        await group.press_data("boom")
    with pytest.raises(LookupError, match="labels: \\['Next lesson ▶', 'Quit'\\]"):
        await group.press("Lesson 9")


async def test_polling_application_reads_pushed_updates(
    fake: FakeTelegram, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    user = TelegramUser(fake, app)
    assert app.updater is not None
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=5))
    try:
        fake.push_update(user.text_update("/start poll"))
        for _ in range(100):
            if fake.sent_texts(user.chat_id):
                break
            await asyncio.sleep(0.01)
    finally:
        await app.updater.stop()
        await app.stop()
    assert fake.sent_texts(user.chat_id) == ["Hello <b>poll</b>"]
    assert fake.calls_of("deleteWebhook") and fake.unknown_methods == []
