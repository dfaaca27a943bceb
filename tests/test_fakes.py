"""Tests of the fake Bot API itself: it must answer like Telegram, errors included."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes import (
    FakeTelegram,
    FakeTelegramServer,
    LimitedTelegram,
    Refusal,
    TelegramLimits,
    TelegramUser,
    parse_html,
)

CHAT = 1001
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot("123:ABC", request=fake, get_updates_request=fake)
    await bot.initialize()
    yield bot
    await bot.shutdown()


def keyboard(*labels_and_data: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in labels_and_data]
    )


def text_update(text: str) -> dict[str, Any]:
    """A bare update without update_id; push_update numbers it."""
    chat = {"id": CHAT, "type": "private", "first_name": "Li"}
    return {"message": {"message_id": 1, "date": 0, "chat": chat, "text": text}}


def last_error(fake: FakeTelegram) -> str | None:
    """Telegram's exact description; PTB re-capitalises it in the exception message."""
    return fake.calls[-1].error


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


async def test_valid_html_subset_passes_with_entities() -> None:
    text, entities = parse_html(
        '<strong>b</strong><em>i</em><ins>u</ins><del>s</del><span class="tg-spoiler">x</span>'
        '<tg-spoiler>y</tg-spoiler><a href="https://t.me/?a=1&b=2">l</a><code>c</code>'
        '<pre><code class="language-python">p</code></pre><blockquote expandable>q</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>&#65;&#x42;&quot;&lt;&gt;'
    )
    assert text == 'biusxylcpq👍AB"<>'
    kinds = [
        (e["type"], e.get("url") or e.get("language") or e.get("custom_emoji_id")) for e in entities
    ]
    assert kinds == [
        ("bold", None),
        ("italic", None),
        ("underline", None),
        ("strikethrough", None),
        ("spoiler", None),
        ("spoiler", None),
        ("text_link", "https://t.me/?a=1&b=2"),
        ("code", None),
        ("pre", "python"),
        ("expandable_blockquote", None),
        ("custom_emoji", "5368324170671202286"),
    ]


# --------------------------------------------------------------------------- text validation


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>"])
async def test_empty_text_is_rejected(bot: Bot, fake: FakeTelegram, text: str) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert last_error(fake) == "Bad Request: message text is empty"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<b>" + "a" * 4096 + "</b>", True),  # 4103 characters sent, 4096 visible
        ("<b>" + "a" * 4097 + "</b>", False),
        ("&lt;" * 4096, True),
        ("😀" * 2048, True),  # 4096 UTF-16 code units
        ("😀" * 2049, False),  # 2049 characters, but 4098 code units
    ],
)
async def test_length_is_counted_after_entity_parsing_in_utf16(
    bot: Bot, fake: FakeTelegram, text: str, ok: bool
) -> None:
    if ok:
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    else:
        with pytest.raises(BadRequest):
            await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
        assert last_error(fake) == "Bad Request: message is too long"


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Hi <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 3'),
        ("Привет <br>", 'Unsupported start tag "br" at byte offset 13'),  # bytes, not chars
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("plain</b>", "Unexpected end tag at byte offset 5"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a>x</a>", 'Tag "a" must have attribute "href" at byte offset 0'),
        ("AT&T", 'Unsupported HTML entity or bare "&" at byte offset 2'),
        ("a&nbsp;b", 'Unsupported HTML entity or bare "&" at byte offset 1'),
        ('<tg-emoji emoji-id="x">👍</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
async def test_bad_html_is_rejected_like_telegram(
    bot: Bot, fake: FakeTelegram, text: str, description: str
) -> None:
    with pytest.raises(BadRequest, match=r"^Can't parse entities: "):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert last_error(fake) == f"Bad Request: can't parse entities: {description}"
    assert fake.last_message(CHAT) is None


async def test_lenient_mode_matches_tdlib_for_ampersands() -> None:
    lenient = FakeTelegram(strict=False)
    async with Bot("123:ABC", request=lenient) as bot:
        msg = await bot.send_message(CHAT, "AT&T &lt 3 <a>x</a>", parse_mode=ParseMode.HTML)
    assert msg.text == "AT&T < 3 x"


async def test_without_parse_mode_markup_is_literal(bot: Bot) -> None:
    msg = await bot.send_message(CHAT, "  <b>x</b> & y  ")
    assert msg.text == "<b>x</b> & y"  # trimmed, not parsed


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


# --------------------------------------------------------------------------- Telegram's limits


def accepted_at(limits: TelegramLimits, sends: list[tuple[int, float]]) -> list[float]:
    """When each of ``sends`` (chat, time) was accepted; refused ones are left out."""
    return [now for chat, now in sends if limits.check(chat, now) is None]


def test_overall_limit_is_a_sliding_window_not_a_full_bucket() -> None:
    limits = TelegramLimits.telegram()
    # Two seconds of 100 messages a second, each to a chat of its own.
    times = accepted_at(limits, [(1000 + i, i / 100) for i in range(200)])
    assert len(times) == 60  # 30 in [0, 1) and 30 more in [1, 2), never 60 in one second
    assert times[:30] == [i / 100 for i in range(30)] and times[30] == 1.0
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest == 30
    assert limits.refused == {"overall": 140}


def test_overall_refusal_gives_the_time_until_a_slot_frees_rounded_up() -> None:
    limits = TelegramLimits(2, 10, 5.0)
    assert limits.check(1, 0.0) is None and limits.check(2, 0.2) is None
    assert limits.check(3, 1.5) == Refusal("overall", 4)  # the slot of 0.0 frees at 5.0
    assert limits.check(3, 4.5) == Refusal("overall", 1)
    assert limits.check(3, 5.0) is None


def test_per_chat_bucket_allows_a_burst_of_three_then_one_a_second() -> None:
    limits = TelegramLimits.telegram()
    assert [limits.check(7, 0.0) for _ in range(3)] == [None, None, None]
    assert limits.check(7, 0.0) == Refusal("per chat", 1)
    assert limits.check(8, 0.0) is None  # another chat is not held up
    assert limits.check(7, 0.5) == Refusal("per chat", 1)
    assert limits.check(7, 1.0) is None
    assert limits.check(7, 1.2) == Refusal("per chat", 1)
    assert limits.check(7, 2.0) is None
    # Idle for a long time: the bucket is full again, but never fuller than three.
    assert accepted_at(limits, [(7, 100.0)] * 5) == [100.0] * 3


def test_group_limit_twenty_a_minute_on_top_of_the_chat_limit() -> None:
    limits = TelegramLimits.telegram()
    group = -100200
    assert accepted_at(limits, [(group, float(t)) for t in range(20)]) == [
        float(t) for t in range(20)
    ]
    assert limits.check(group, 20.0) == Refusal("per group", 40)  # the slot of 0.0 frees at 60
    assert limits.check(group, 59.5) == Refusal("per group", 1)
    assert limits.check(group, 60.0) is None
    assert accepted_at(limits, [(1, 0.0)] * 3) == [0.0] * 3  # private chats: no such limit


def test_older_benchmarks_limits_are_unchanged() -> None:
    limits = TelegramLimits(30, 1, 0.9)
    assert limits.refuse(1, 0.0) == ""
    assert limits.refuse(1, 0.5) == "per chat"
    assert limits.refuse(1, 0.9) == ""
    assert [limits.refuse(100 + i, 1.0) for i in range(30)].count("overall") == 1
    assert limits.check(500, 1.1) == Refusal("overall", 1)


def test_calls_repeated_before_retry_after_are_counted_per_chat() -> None:
    limits = TelegramLimits.telegram()
    accepted_at(limits, [(7, 0.0)] * 3)
    assert limits.check(7, 0.0) == Refusal("per chat", 1)  # told: retry after 1 s
    assert limits.repeats == {}
    assert limits.check(7, 0.4) == Refusal("per chat", 1)  # too early; now told: until 1.4
    assert limits.check(8, 0.4) is None  # another chat was told nothing
    assert limits.check(7, 1.4) is None  # on time
    assert limits.repeats == {7: 1}

    limits = TelegramLimits(1, 10, 1.0)
    assert limits.check(1, 0.0) is None
    assert limits.check(2, 0.1) == Refusal("overall", 1)  # the bot-wide limit: every chat waits
    assert limits.check(3, 0.5) == Refusal("overall", 1)  # too early; now: until 1.5
    assert limits.check(3, 1.5) is None
    assert limits.repeats == {3: 1} and limits.repeated == 1


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
async def limited(clock: list[float]) -> AsyncIterator[tuple[Bot, LimitedTelegram]]:
    fake = LimitedTelegram(clock=lambda: clock[0])
    bot = Bot("123:ABC", request=fake, get_updates_request=fake)
    await bot.initialize()
    yield bot, fake
    await bot.shutdown()


async def test_limited_fake_answers_429_with_retry_after(
    limited: tuple[Bot, LimitedTelegram], clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    bot, fake = limited
    group = -100300
    for _ in range(3):
        await bot.send_message(group, "hi")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(group, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert fake.calls[-1].error == "Too Many Requests: retry after 1"
    with pytest.raises(RetryAfter):
        await bot.edit_message_text("changed", group, 1)  # edits count too
    assert fake.limits.repeats == {group: 1}
    for _ in range(40):
        await bot.send_chat_action(group, "typing")  # not a message: never limited
    clock[0] += 1
    await bot.send_message(group, "later")
    assert [refusal for _, _, refusal in fake.too_many] == [Refusal("per chat", 1)] * 2
    assert fake.sent_texts(group) == ["hi", "hi", "hi", "later"]


async def test_limited_fake_refuses_answers_after_fifteen_seconds(
    limited: tuple[Bot, LimitedTelegram], clock: list[float]
) -> None:
    bot, fake = limited
    fresh, stale = fake.issue_callback_query(), fake.issue_callback_query()
    clock[0] += 15
    assert await bot.answer_callback_query(fresh) is True
    clock[0] += 0.5
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(stale)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(stale)  # forgotten: no second chance
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(fresh)  # answered twice: refused, but not for its age
    assert fake.too_old == 1
    assert fake.too_many == []  # answers are not messages
