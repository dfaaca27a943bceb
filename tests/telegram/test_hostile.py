"""Bad input and Telegram's refusals: a clear answer, never a traceback, never lost data."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

import pytest

from bot.core import callbacks as cb
from tests.conftest import Harness
from tests.fakes.resident import TelegramUser


async def onboard(bot: Harness, user_id: int, language: str = "en", **kwargs: Any) -> TelegramUser:
    user = bot.resident(user_id=user_id, language_code=language, **kwargs)
    await user.send("/start")
    ui = bot.content.ui["en" if language == "en" else "zh"]
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    return user


async def learning_rows(bot: Harness, resident_id: int) -> dict[str, Any]:
    """What a resident has learned and answered (ignoring when they were last seen)."""
    data = await bot.store.privacy.export(resident_id=resident_id)
    for row in data["residents"]:
        row.pop("last_seen_at")
    # How delivery paced their chat (with several processes on PostgreSQL), not what they did.
    data.pop("outbox_claims", None)
    return data


async def start_quiz(bot: Harness, user: TelegramUser) -> int:
    """Open the first lesson's quiz; return the attempt id shown on its buttons."""
    _, lesson = bot.content.curriculum.lessons()[0]
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    data = user.last.buttons[0][0].callback_data
    action = cb.decode(data)
    assert isinstance(action, cb.Answer)
    return action.attempt_id


@pytest.mark.parametrize(
    "data",
    [
        "garbage",
        "0:m",  # an old callback-data version
        "1:c:no-such-lesson:0",
        "1:tp:no-such-topic",
        "1:q:no-such-lesson",
        "1:a:999999:0:0",  # an attempt that does not exist
        "1:n:999999:0",
        "1:r:999999",
        "1:a:1:0:0:extra",
        "1:c:" + "x" * 40,
    ],
)
async def test_stale_or_forged_buttons_get_a_polite_answer(bot: Harness, data: str) -> None:
    user = await onboard(bot, 31)
    before = await learning_rows(bot, 31)
    exchange = await user.press_data(data)
    ui = bot.content.ui["en"]
    assert exchange.answered
    assert exchange.of("answerCallbackQuery")[0].params["text"] == ui.stale_button
    assert ui.stale_button in user.last.visible
    assert user.last.labels[0] == ui.btn_lessons
    assert await learning_rows(bot, 31) == before


async def test_card_index_out_of_range(bot: Harness) -> None:
    user = await onboard(bot, 32)
    _, lesson = bot.content.curriculum.lessons()[0]
    exchange = await user.press_data(cb.encode(cb.ShowCard(lesson.id, len(lesson.cards))))
    assert exchange.of("answerCallbackQuery")[0].params["text"] == bot.content.ui["en"].stale_button


async def test_another_residents_quiz_cannot_be_touched(bot: Harness) -> None:
    victim = await onboard(bot, 41)
    attempt_id = await start_quiz(bot, victim)
    before = await learning_rows(bot, 41)
    forger = await onboard(bot, 42)
    for action in (
        cb.Answer(attempt_id, 0, 0),
        cb.NextQuestion(attempt_id, 1),
        cb.RetryMissed(attempt_id),
    ):
        exchange = await forger.press_data(cb.encode(action))
        assert (
            exchange.of("answerCallbackQuery")[0].params["text"]
            == bot.content.ui["en"].stale_button
        )
    assert await learning_rows(bot, 41) == before
    assert (await learning_rows(bot, 42))["answers"] == []


async def test_out_of_range_option_and_future_question(bot: Harness) -> None:
    user = await onboard(bot, 43)
    attempt_id = await start_quiz(bot, user)
    stale = bot.content.ui["en"].stale_button
    for action in (
        cb.Answer(attempt_id, 0, 6),
        cb.Answer(attempt_id, 3, 0),
        cb.Answer(attempt_id, 99, 0),
    ):
        exchange = await user.press_data(cb.encode(action))
        assert exchange.of("answerCallbackQuery")[0].params["text"] == stale
    assert (await learning_rows(bot, 43))["answers"] == []


@pytest.mark.parametrize(
    "act",
    ["huge text", "sticker", "photo", "voice", "unknown command", "html text"],
)
async def test_anything_else_gets_a_pointer_to_the_menu(bot: Harness, act: str) -> None:
    user = await onboard(bot, 51)
    secret = "My bank password is 908172 <b>" + "x" * 10_000
    match act:
        case "huge text":
            exchange = await user.send(secret)
        case "sticker":
            exchange = await user.sticker()
        case "photo":
            exchange = await user.photo(caption=secret[:1000])
        case "voice":
            exchange = await user.voice()
        case "unknown command":
            exchange = await user.send("/transfer_all_my_money now")
        case _:
            exchange = await user.send("<script>alert(1)</script> & <b>")
    ui = bot.content.ui["en"]
    assert exchange.methods == ["sendMessage"]
    # Typed text is read as a question (issue 17): lessons found or a kind line, never an
    # echo; anything else gets the pointer to the menu.
    if act in ("huge text", "html text"):
        assert ui.ask_found in user.last.visible or ui.ask_nothing in user.last.visible
        assert "<script>" not in user.last.visible and "908172" not in user.last.visible
        assert user.last.labels[-1] == ui.btn_menu
    else:
        assert ui.chatter_pointer in user.last.visible
        assert user.last.labels[0] == ui.btn_lessons
    assert "password" not in json.dumps(await bot.store.privacy.export(resident_id=51))


async def test_html_in_a_first_name_is_escaped(bot: Harness) -> None:
    name = '<b>Bob</b> & <a href="http://evil">x</a> <script>'
    user = bot.resident(user_id=52, language_code="en", first_name=name)
    exchange = await user.send("/start")
    assert exchange.errors == []  # Telegram accepted the HTML
    assert bot.content.ui["en"].welcome_hello.format(name=name) in user.last.visible
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; &lt;a href=" in user.last.text


async def test_group_chats_get_only_a_pointer(bot: Harness) -> None:
    member = bot.resident(
        user_id=61,
        chat_id=-100500,
        chat_type="supergroup",
        title="Dawa village",
        language_code="zh-hans",
    )
    ui = bot.content.ui["zh"]
    exchange = await member.send("/start")
    assert exchange.methods == ["sendMessage"]
    assert ui.group_pointer in member.last.visible
    # One button, a deep link to the bot's private chat.
    (link,) = [b for row in member.last.buttons for b in row]
    assert link.text == ui.btn_private_chat
    assert link.url == f"https://t.me/{bot.fake.bot_user['username']}?start=group"
    chatter = await member.send("hello everyone, what is this bot?")
    assert chatter.calls == []
    sticker = await member.sticker()
    assert sticker.calls == []
    # At most one note per group per hour, however many commands follow.
    again = await member.send("/help")
    assert again.calls == []
    assert await bot.store.residents.get(resident_id=61) is None


async def test_a_group_hears_the_note_again_after_an_hour(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = bot.resident(
        user_id=64, chat_id=-100800, chat_type="group", title="Village", language_code="en"
    )
    assert (await member.send("/start")).methods == ["sendMessage"]
    state = bot.store.state  # where the group note's time is kept
    later = state._now() + dt.timedelta(minutes=61)
    monkeypatch.setattr(state, "_now", lambda: later)
    assert (await member.send("/menu")).methods == ["sendMessage"]


async def test_commands_for_another_bot_get_nothing_in_a_group(bot: Harness) -> None:
    member = bot.resident(
        user_id=65, chat_id=-100900, chat_type="supergroup", title="Bots", language_code="en"
    )
    assert (await member.send("/start@SomeOtherBot")).calls == []
    me = bot.fake.bot_user["username"]
    assert (await member.send(f"/start@{me}")).methods == ["sendMessage"]


async def test_being_added_to_a_group_explains_once(bot: Harness) -> None:
    member = bot.resident(
        user_id=62, chat_id=-100600, chat_type="group", title="Family", language_code="en"
    )
    bot_user = bot.fake.bot_user
    update = {
        "update_id": bot.fake.next_update_id(),
        "my_chat_member": {
            "chat": member.chat,
            "from": member.user,
            "date": int(time.time()),
            "old_chat_member": {"user": bot_user, "status": "left"},
            "new_chat_member": {"user": bot_user, "status": "member"},
        },
    }
    exchange = await member.replay(update)
    assert exchange.methods == ["sendMessage"]
    assert bot.content.ui["en"].group_pointer in member.last.visible
    assert (await member.send("/start")).calls == []  # the note was given this hour


async def test_button_on_a_group_message_is_answered(bot: Harness) -> None:
    member = bot.resident(
        user_id=63, chat_id=-100700, chat_type="group", title="G", language_code="en"
    )
    await member.send("/menu")
    exchange = await member.press_data("1:m", member.last)
    assert exchange.answered
    assert exchange.methods == ["answerCallbackQuery"]  # the note was given this hour


async def test_blocked_resident_does_not_crash_the_bot(bot: Harness) -> None:
    user = await onboard(bot, 71)
    bot.fake.block(71)
    exchange = await user.send("/menu")
    assert [c.error for c in exchange.calls] == ["Forbidden: bot was blocked by the user"]
    bot.fake.unblock(71)
    await user.send("/menu")
    assert user.last.labels[0] == bot.content.ui["en"].btn_lessons


async def test_flood_control_is_waited_out(bot: Harness) -> None:
    user = await onboard(bot, 72)
    bot.waits.clear()
    bot.fake.fail_next("sendMessage", status=429, retry_after=7, times=2)
    exchange = await user.send("/help")
    assert [c.ok for c in exchange.of("sendMessage")] == [False, False, True]
    assert bot.waits == pytest.approx([7, 7], abs=0.05)


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, 5), (403, 0), (400, 0), (None, 0)], ids=str
)
async def test_a_press_answer_telegram_refuses_is_not_retried_and_the_screen_still_comes(
    bot: Harness, status: int | None, retry_after: int
) -> None:
    """Answering a press only stops its spinner, and only now: a flood, a block, a refusal or
    a network error is logged and not repeated, and the screen the press asked for is sent."""
    user = await onboard(bot, 73)
    bot.fake.fail_next("answerCallbackQuery", status=status, retry_after=retry_after)
    exchange = await user.press(user.last.labels[0])  # the first topic
    assert [c.ok for c in exchange.of("answerCallbackQuery")] == [False]
    assert exchange.of("editMessageText") or exchange.of("sendMessage")


async def test_an_edit_that_changes_nothing_is_not_sent(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    user = await onboard(bot, 73)
    await user.send("/menu")
    menu = user.last
    assert menu is not None
    # The menu is showing; pressing "menu" on it would edit it into itself.
    exchange = await user.press_data("1:m", menu)
    assert exchange.methods == ["answerCallbackQuery"]
    assert exchange.calls[0].params.get("text") == ui.press_unchanged
    # Choosing the language already chosen: the same.
    await user.send("/language")
    exchange = await user.press(ui.btn_lang_en)
    assert "editMessageText" in exchange.methods  # the choice screen becomes the menu
    assert not exchange.errors


async def test_edit_of_a_deleted_message_sends_a_new_one(bot: Harness) -> None:
    user = await onboard(bot, 74)
    await user.send("/menu")
    menu = user.last
    assert menu is not None
    await bot.app.bot.delete_message(74, menu.message_id)
    # Telegram still delivers a press from a client that shows the old message.
    update = user.last_update
    assert update is not None
    message_json = bot.fake.message_json(menu)
    query_update = {
        "update_id": bot.fake.next_update_id(),
        "callback_query": {
            "id": bot.fake.issue_callback_query(),
            "from": user.user,
            "message": message_json,
            "chat_instance": "1",
            "data": "1:h",
        },
    }
    exchange = await user.replay(query_update)
    assert exchange.methods == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert bot.content.ui["en"].help_text.splitlines()[0] in user.last.visible


async def test_a_crash_apologises_with_the_menu_and_logs_no_text_or_name(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = await onboard(bot, 81, first_name="Zhang Secretname")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.services.tutor, "text", broken)
    caplog.set_level(logging.INFO)
    user.raise_errors = False
    exchange = await user.send("my secret message")
    assert len(bot.errors) == 1 and str(bot.errors[0]) == "boom"
    bot.errors.clear()
    ui = bot.content.ui["en"]
    assert ui.error_apology in user.last.visible
    assert exchange.methods == ["sendMessage"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "update" in logged and "RuntimeError" in logged
    assert "secret" not in logged.lower() and "Secretname" not in logged


async def test_mydata_sends_everything_stored(bot: Harness) -> None:
    user = await onboard(bot, 91)
    await start_quiz(bot, user)
    exchange = await user.send("/mydata")
    (call,) = exchange.of("sendDocument")
    assert call.ok and call.params["caption"] == bot.content.ui["en"].mydata_caption
    document = user.last
    assert document is not None and document.kind == "document" and document.document is not None
    data = json.loads(document.document)
    assert data["residents"][0]["id"] == 91
    assert len(data["quiz_attempts"]) == 1
    assert set(data) == {
        "residents",
        "lesson_progress",
        "quiz_attempts",
        "answers",
        "assessment_sittings",
        "assessment_answers",
        "cohort_members",
        "broadcast_deliveries",
        "latest_answers",
        "outbox",
        "check_waits",
        "exports",
        "drill_answers",
        "loan_sessions",
        "inbox",  # their updates still waiting to be handled
        "outbox_claims",  # which bot process sends to their chat (several on PostgreSQL)
    }


async def test_forget_deletes_everything_after_confirmation(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    user = await onboard(bot, 92)
    attempt_id = await start_quiz(bot, user)
    await user.press_data(cb.encode(cb.Answer(attempt_id, 0, 0)))
    await user.send("/forget")
    await user.press(ui.btn_forget_cancel)
    assert ui.forget_cancelled in user.last.visible
    assert len((await learning_rows(bot, 92))["answers"]) == 1
    await user.send("/forget")
    await user.press(ui.btn_forget_confirm)
    assert ui.forget_done in user.last.visible
    assert await bot.store.residents.get(resident_id=92) is None
    await user.send("/start")  # a new resident again: the privacy notice comes first
    assert ui.privacy_notice in user.last.visible
