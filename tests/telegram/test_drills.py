"""Spot-the-scam drills end to end: the menu button and /drill, answers stored once and first,
feedback that points at each warning sign, stale and forged buttons, /mydata, /forget, /stats."""

from __future__ import annotations

import pytest

from bot.core.fraud.drill_book import DrillBook
from bot.core.html import visible_text
from bot.core.i18n import Language
from tests.conftest import ADMIN, Harness
from tests.fakes.resident import TelegramUser

CODES: dict[Language, str] = {"zh": "zh-hans", "en": "en-US"}


def book(bot: Harness) -> DrillBook:
    assert bot.content.drills is not None
    return bot.content.drills


async def onboard(bot: Harness, user_id: int, language: Language = "en") -> TelegramUser:
    ui = bot.content.ui[language]
    user = bot.resident(user_id=user_id, language_code=CODES[language], first_name=f"R{user_id}")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.send("/menu")
    return user


def seen(text: str) -> str:
    return visible_text(text).strip()


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_drill_from_the_menu_then_its_feedback(bot: Harness, language: Language) -> None:
    drills = book(bot)
    texts = drills.texts[language]
    user = await onboard(bot, 41, language)
    await user.press(texts.btn_drill)
    first = drills.drills[0]
    shown = user.last.visible
    assert seen(first.message.get(language)) in shown
    assert texts.intro in shown and texts.question in shown
    assert user.last.labels[:3] == [texts.btn_scam, texts.btn_genuine, texts.btn_unsure]
    drill_message = user.last
    exchange = await user.press(texts.btn_scam if first.verdict == "scam" else texts.btn_genuine)
    assert exchange.answered and exchange.methods[-1] == "editMessageText"
    feedback = user.last.visible
    assert user.last.message_id == drill_message.message_id
    assert texts.right in feedback
    for flag in first.flags:  # each warning sign, quoted from the message, with its meaning
        assert seen(flag.quote.get(language)) in feedback
        assert seen(flag.why.get(language)) in feedback
    assert texts.rule in feedback
    await user.press(texts.btn_next_drill)
    assert seen(drills.drills[1].message.get(language)) in user.last.visible


async def test_drill_command_wrong_and_unsure_answers_and_genuine_reasons(bot: Harness) -> None:
    drills = book(bot)
    texts = drills.texts["en"]
    user = await onboard(bot, 42)
    genuine_at = next(i for i, d in enumerate(drills.drills) if d.verdict == "genuine")
    for index in range(genuine_at + 1):
        await user.send("/drill")
        drill = drills.drills[index]
        assert seen(drill.message.en) in user.last.visible
        if index < genuine_at:
            await user.press(texts.btn_unsure)
            assert texts.unsure in user.last.visible
        else:
            await user.press(texts.btn_scam)  # a genuine message taken for a scam
            feedback = user.last.visible
            assert texts.wrong in feedback and texts.verdict_genuine in feedback
            assert drill.genuine_because is not None
            assert seen(drill.genuine_because.en) in feedback
    stored = (await bot.store.privacy.export(resident_id=42))["drill_answers"]
    assert sorted((row["drill_id"], row["answer"], row["correct"]) for row in stored) == sorted(
        [
            *((d.id, "unsure", False) for d in drills.drills[:genuine_at]),
            (drills.drills[genuine_at].id, "scam", False),
        ]
    )


async def test_an_answer_is_stored_once_and_before_the_reply(bot: Harness) -> None:
    drills = book(bot)
    texts = drills.texts["en"]
    user = await onboard(bot, 43)
    await user.send("/drill")
    first = drills.drills[0]
    message = user.last
    data = message.callback_data(texts.btn_scam)
    # Telegram fails while the feedback is shown: the answer must already be on disk.
    bot.fake.fail_next("editMessageText", status=500)
    bot.fake.fail_next("sendMessage", status=None)
    user.raise_errors = False
    await user.press_data(data, message)
    bot.errors.clear()
    user.raise_errors = True
    stored = (await bot.store.privacy.export(resident_id=43))["drill_answers"]
    assert [(r["drill_id"], r["answer"]) for r in stored] == [(first.id, "scam")]
    # A double press, a different answer on the old message, a redelivered update: one answer.
    replay = user.last_update
    await user.press_data(data, message)
    await user.press_data(data.rsplit(":", 1)[0] + ":1", message)
    await user.replay(replay)
    stored = (await bot.store.privacy.export(resident_id=43))["drill_answers"]
    assert [(r["drill_id"], r["answer"]) for r in stored] == [(first.id, "scam")]


@pytest.mark.parametrize("data", ["1:da:no-such-drill:0", "1:da:police-safe-account:7", "1:dn:3"])
async def test_forged_drill_buttons_are_answered_politely(bot: Harness, data: str) -> None:
    user = await onboard(bot, 44)
    exchange = await user.press_data(data)
    assert exchange.answered
    assert bot.content.ui["en"].stale_button in user.last.visible
    assert (await bot.store.privacy.export(resident_id=44))["drill_answers"] == []


async def test_drills_need_consent(bot: Harness) -> None:
    user = bot.resident(user_id=45, language_code="en")
    await user.send("/start")
    exchange = await user.press_data("1:dn")
    assert exchange.answered
    assert bot.content.ui["en"].consent_needed in user.last.visible
    await user.send("/drill")
    assert bot.content.ui["en"].consent_needed in user.last.visible


async def test_restart_carries_on_with_the_next_drill(bot: Harness) -> None:
    drills = book(bot)
    texts = drills.texts["zh"]
    user = await onboard(bot, 46, "zh")
    await user.send("/drill")
    await user.press(texts.btn_unsure)
    await bot.restart(user)
    await user.press(texts.btn_next_drill)  # the old message's button, in a new process
    assert seen(drills.drills[1].message.zh) in user.last.visible


async def test_forget_deletes_drill_answers(bot: Harness) -> None:
    texts = book(bot).texts["en"]
    ui = bot.content.ui["en"]
    user = await onboard(bot, 47)
    await user.send("/drill")
    await user.press(texts.btn_scam)
    await user.send("/forget")
    await user.press(ui.btn_forget_confirm)
    data = await bot.store.privacy.export(resident_id=47)
    assert data["drill_answers"] == [] and data["residents"] == []


async def test_stats_show_accuracy_per_category_withheld_below_five(admin_bot: Harness) -> None:
    bot = admin_bot
    drills = book(bot)
    texts = drills.texts["en"]
    first = drills.drills[0]
    category = drills.category_name(first.category, "en")
    right = texts.btn_scam if first.verdict == "scam" else texts.btn_genuine
    wrong = texts.btn_genuine if first.verdict == "scam" else texts.btn_scam
    for user_id in range(500, 506):  # six residents: five right, one wrong
        user = await onboard(bot, user_id)
        await user.send("/drill")
        await user.press(right if user_id < 505 else wrong)
    # One more resident answers the first drill ("not sure") and, alone, one of another category.
    lone = await onboard(bot, 506)
    lone_index = next(i for i, d in enumerate(drills.drills) if d.category != first.category)
    for _ in range(lone_index + 1):
        await lone.send("/drill")
        await lone.press(texts.btn_unsure)
    other = drills.category_name(drills.drills[lone_index].category, "en")

    admin = bot.resident(user_id=ADMIN, language_code="en")
    exchange = await admin.send("/stats")
    report = seen(exchange.of("sendMessage")[0].params["text"])
    assert texts.stats_heading in report
    line = texts.stats_line.format(category=category, residents=7, answers=7, accuracy="71%")
    assert line in report
    hidden = bot.content.ui["en"].admin.hidden.format(k=5)
    assert other != category
    alone = texts.stats_line.format(
        category=other, residents=hidden, answers=hidden, accuracy=hidden
    )
    assert alone in report
