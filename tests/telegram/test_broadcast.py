"""Administrators' broadcasts end to end: preview, confirm, a durable job, exactly one each."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.core.models import Broadcast
from bot.core.ui import AdminTexts
from bot.telegram.broadcast import BATCH_SIZE, CONCURRENCY, BroadcastWorker
from tests.conftest import ADMIN, Harness
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.resident import TelegramUser

TEXT = "Hello <b>all</b>"


@pytest.fixture
def bot(admin_bot: Harness) -> Harness:
    """Every test here has an administrator."""
    return admin_bot


async def resident(bot: Harness, user_id: int, payload: str = "") -> TelegramUser:
    user = bot.resident(user_id=user_id, language_code="en", first_name=f"R{user_id}")
    await user.send(f"/start {payload}".strip())
    await user.press(bot.content.ui["en"].btn_agree)
    return user


def admin(bot: Harness) -> TelegramUser:
    return bot.resident(user_id=ADMIN, language_code="en", first_name="Admin")


def received(bot: Harness, chat_id: int, text: str = TEXT) -> int:
    """How many times the chat was sent the announcement ``text``."""
    html = bot.content.render("broadcast.html.j2", "en", text=text)
    return bot.fake.sent_texts(chat_id).count(html)


def worker(bot: Harness) -> BroadcastWorker:
    assert bot.app is not None
    found = bot.app.bot_data.broadcasts
    assert found is not None
    return found


def manual_worker(
    bot: Harness, *, concurrency: int = CONCURRENCY, batch_size: int = BATCH_SIZE
) -> BroadcastWorker:
    """A second worker on the running application's services, driven by the test."""
    return BroadcastWorker(
        bot.services, bot.app.bot, concurrency=concurrency, batch_size=batch_size
    )


async def drain(bot: Harness) -> None:
    await worker(bot).drain()
    await bot.settled()  # the reports to the administrator are delivered too


def admin_texts(bot: Harness) -> AdminTexts:
    return bot.content.ui["en"].admin


async def stored(bot: Harness, broadcast_id: int) -> Broadcast:
    """The broadcast as the store keeps it."""
    found = await bot.store.broadcasts.get(broadcast_id=broadcast_id)
    assert found is not None, f"no broadcast {broadcast_id}"
    return found


async def preview(bot: Harness, boss: TelegramUser, command: str) -> int:
    """Send ``command``; check the preview; return the broadcast id from the Send button."""
    exchange = await boss.send(command)
    # (An administrator's first message also sets their own command menu.)
    assert [m for m in exchange.methods if m != "setMyCommands"] == ["sendMessage", "sendMessage"]
    message = boss.last
    assert message is not None
    assert message.labels == [
        admin_texts(bot).btn_broadcast_send,
        admin_texts(bot).btn_broadcast_cancel,
    ]
    data = message.buttons[0][0].callback_data
    assert data is not None and data.startswith("1:bs:")
    return int(data.rsplit(":", 1)[1])


async def test_residents_cannot_broadcast(bot: Harness) -> None:
    user = await resident(bot, 11)
    unknown = await user.send("/no_such_command")
    exchange = await user.send("/broadcast Hello everyone")
    assert exchange.texts == unknown.texts
    await drain(bot)
    assert received(bot, 11, "Hello everyone") == 0
    assert await bot.store.audit.recent() == []


async def test_preview_cancel_then_send_reaches_the_right_residents(bot: Harness) -> None:
    ui, texts = bot.content.ui["en"], admin_texts(bot)
    for user_id in (11, 12, 13, 14):
        await resident(bot, user_id)
    opted_out = await resident(bot, 15)
    await opted_out.send("/settings")
    assert "Announcements: ON" in opted_out.last.visible
    await opted_out.press(ui.btn_announcements_off)
    assert "Announcements: OFF" in opted_out.last.visible
    await resident(bot, 16)
    await bot.store.residents.set_blocked(resident_id=16, blocked=True)
    bot.resident(user_id=17, language_code="en")  # never writes to the bot
    stranger = bot.resident(user_id=18, language_code="en")
    await stranger.send("/start")  # never agrees
    boss = admin(bot)

    first = await preview(bot, boss, f"/broadcast {TEXT}")
    notice = bot.fake.messages[ADMIN][boss.last.message_id - 1].visible
    assert notice == texts.broadcast_preview.format(scope=texts.scope_all, count="<5")
    # The text exactly as residents will see it: escaped, not bold.
    assert boss.last.visible == TEXT and boss.last.entities == []
    await boss.press(texts.btn_broadcast_cancel)
    assert boss.last.visible == texts.broadcast_cancelled
    await drain(bot)
    assert all(received(bot, chat) == 0 for chat in range(11, 19))
    assert (await stored(bot, first)).status == "cancelled"

    second = await preview(bot, boss, f"/broadcast {TEXT}")
    assert second != first
    exchange = await boss.press(texts.btn_broadcast_send)
    assert exchange.answered
    assert boss.last.visible == texts.broadcast_started.format(id=second, count="<5", every=200)
    await drain(bot)
    for user_id in (11, 12, 13, 14):
        assert received(bot, user_id) == 1
        message = bot.fake.last_message(user_id)
        assert message is not None and message.visible == TEXT and message.entities == []
        assert message.labels == [ui.btn_stop_announcements]
    for user_id in (15, 16, 17, 18):
        assert received(bot, user_id) == 0
    done = await stored(bot, second)
    assert (done.status, done.recipients, done.sent, done.failed, done.blocked) == (
        "done",
        4,
        4,
        0,
        0,
    )
    report = boss.last.visible
    assert report == texts.broadcast_done.format(
        id=second, recipients="<5", sent="<5", failed=0, blocked=0, skipped=0
    )
    actions = [row["action"] for row in await bot.store.audit.recent()]
    assert actions == ["broadcast_send", "broadcast", "broadcast_cancel", "broadcast"]
    # Nothing more happens on a second drain.
    await drain(bot)
    assert all(received(bot, chat) == 1 for chat in (11, 12, 13, 14))


async def test_cohort_broadcast_reaches_members_only(bot: Harness) -> None:
    boss = admin(bot)
    exchange = await boss.send("/cohort new Dawa village lecture")
    code = exchange.of("sendMessage")[0].params["text"].split("?start=")[1].split()[0]
    for user_id in (21, 22):
        await resident(bot, user_id, code)
    await resident(bot, 23)
    await preview(bot, boss, "/broadcast @Dawa village lecture Meeting at 3pm\nBring your phone")
    notice = bot.fake.messages[ADMIN][boss.last.message_id - 1].visible
    assert notice == admin_texts(bot).broadcast_preview.format(
        scope="Dawa village lecture", count="<5"
    )
    await boss.press(admin_texts(bot).btn_broadcast_send)
    await drain(bot)
    text = "Meeting at 3pm\nBring your phone"
    assert [received(bot, chat, text) for chat in (21, 22, 23)] == [1, 1, 0]
    # By code too; an unknown cohort is named back.
    await preview(bot, boss, f"/broadcast @{code} Second")
    await boss.send("/broadcast @Nowhere Hello")
    assert boss.last.visible == admin_texts(bot).unknown_cohort.format(name="Nowhere")
    await boss.send("/broadcast")
    assert boss.last.visible == admin_texts(bot).broadcast_usage


async def test_restart_midway_resumes_without_repeats(bot: Harness) -> None:
    users = [await resident(bot, user_id) for user_id in range(31, 37)]
    boss = admin(bot)
    broadcast_id = await preview(bot, boss, f"/broadcast {TEXT}")
    await boss.press(admin_texts(bot).btn_broadcast_send)
    await worker(bot).stop()  # the background loop stays out of the way
    assert bot.app is not None
    assert await manual_worker(bot, concurrency=2).drain(limit=3) == 3
    assert sum(received(bot, u.chat_id) for u in users) == 3
    await bot.restart(*users, boss)
    await drain(bot)
    assert [received(bot, u.chat_id) for u in users] == [1] * 6
    done = await stored(bot, broadcast_id)
    assert (done.status, done.sent, done.failed) == ("done", 6, 0)
    assert admin_texts(bot).broadcast_done.format(
        id=broadcast_id, recipients=6, sent=6, failed=0, blocked=0, skipped=0
    ) in [m.visible for m in bot.fake.messages[ADMIN].values()]


async def test_a_crash_after_the_claim_never_sends_twice(bot: Harness) -> None:
    users = [await resident(bot, user_id) for user_id in range(41, 45)]
    boss = admin(bot)
    broadcast_id = await preview(bot, boss, f"/broadcast {TEXT}")
    await boss.press(admin_texts(bot).btn_broadcast_send)
    await worker(bot).stop()
    assert bot.app is not None
    await manual_worker(bot).drain(limit=2)
    # A crash between claiming a delivery and recording it: maybe sent, maybe not.
    claimed = await bot.store.broadcasts.claim(broadcast_id=broadcast_id, resident_id=43)
    assert claimed
    await bot.restart(*users, boss)
    statuses = await bot.store.broadcasts.delivery_status(broadcast_id=broadcast_id)
    assert statuses[43] == "unknown"
    await drain(bot)
    assert [received(bot, u.chat_id) for u in users] == [1, 1, 0, 1]
    done = await stored(bot, broadcast_id)
    assert (done.status, done.sent, done.failed) == ("done", 3, 1)


async def test_stopping_finishes_the_sends_in_flight(bot: Harness, fake: FakeTelegram) -> None:
    users = [await resident(bot, user_id) for user_id in range(51, 56)]
    boss = admin(bot)
    broadcast_id = await preview(bot, boss, f"/broadcast {TEXT}")
    await boss.press(admin_texts(bot).btn_broadcast_send)
    await worker(bot).stop()
    assert bot.app is not None
    send = fake._handlers["sendMessage"]
    gate, in_flight = asyncio.Event(), []

    async def slow_send(params: dict[str, Any], uploads: Any) -> Any:
        in_flight.append(params["chat_id"])
        await gate.wait()
        return send(params, uploads)

    fake._handlers["sendMessage"] = slow_send
    manual = manual_worker(bot, concurrency=2)
    draining = asyncio.create_task(manual.drain())
    while len(in_flight) < 2:
        await asyncio.sleep(0.01)
    stopping = asyncio.create_task(manual.stop())  # SIGTERM arrives with two sends in flight
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for them
    gate.set()
    await stopping
    await draining
    fake._handlers["sendMessage"] = send
    statuses = await bot.store.broadcasts.delivery_status(broadcast_id=broadcast_id)
    assert sorted(statuses.values()) == ["pending"] * 3 + ["sent"] * 2
    await bot.restart(*users, boss)
    await drain(bot)
    assert [received(bot, u.chat_id) for u in users] == [1] * 5


async def test_double_press_sends_once_and_forged_buttons_are_stale(bot: Harness) -> None:
    ui, texts = bot.content.ui["en"], admin_texts(bot)
    users = [await resident(bot, user_id) for user_id in (61, 62)]
    boss = admin(bot)
    broadcast_id = await preview(bot, boss, f"/broadcast {TEXT}")
    # A resident forging the admin's buttons: the stale answer, nothing happens.
    for data in (f"1:bs:{broadcast_id}", f"1:bx:{broadcast_id}", "1:bs:99999"):
        exchange = await users[0].press_data(data)
        assert exchange.answered
        assert users[0].last.visible.startswith(ui.stale_button)
    await drain(bot)
    assert (await stored(bot, broadcast_id)).status == "draft"
    # An unknown broadcast id from the admin is stale too.
    await boss.press_data("1:bs:99999")
    assert boss.last.visible.startswith(ui.stale_button)
    preview_message = next(m for m in bot.fake.messages[ADMIN].values() if m.visible == TEXT)
    await boss.press(texts.btn_broadcast_send, preview_message)
    again = await boss.press_data(f"1:bs:{broadcast_id}", preview_message)
    assert again.of("answerCallbackQuery")[0].params["text"] == texts.broadcast_already
    await boss.replay()  # the same update redelivered
    await boss.press_data(f"1:bx:{broadcast_id}", preview_message)  # too late to cancel
    await drain(bot)
    assert [received(bot, u.chat_id) for u in users] == [1, 1]
    done = await stored(bot, broadcast_id)
    assert (done.status, done.recipients, done.sent) == ("done", 2, 2)
    finals = [m for m in bot.fake.messages[ADMIN].values() if "finished" in m.visible]
    assert len(finals) == 1


async def test_blocked_recipient_is_counted_and_others_served(bot: Harness) -> None:
    users = [await resident(bot, user_id) for user_id in (71, 72, 73)]
    boss = admin(bot)
    bot.fake.block(72)
    broadcast_id = await preview(bot, boss, f"/broadcast {TEXT}")
    await boss.press(admin_texts(bot).btn_broadcast_send)
    await drain(bot)
    assert [received(bot, u.chat_id) for u in users] == [1, 0, 1]
    assert await bot.store.residents.is_blocked(resident_id=72)
    done = await stored(bot, broadcast_id)
    assert (done.sent, done.failed, done.blocked) == (2, 0, 1)
    assert boss.last.visible == admin_texts(bot).broadcast_done.format(
        id=broadcast_id, recipients="<5", sent="<5", failed=0, blocked="<5", skipped=0
    )


async def test_a_failing_send_does_not_stop_the_job(bot: Harness) -> None:
    users = [await resident(bot, user_id) for user_id in (81, 82, 83)]
    boss = admin(bot)
    broadcast_id = await preview(bot, boss, f"/broadcast {TEXT}")
    await boss.press(admin_texts(bot).btn_broadcast_send)
    # One network failure: not retried (it may have arrived), counted as failed.
    bot.fake.fail_next("sendMessage", status=None)
    await worker(bot).stop()
    assert bot.app is not None
    await manual_worker(bot, concurrency=1).drain()
    await bot.settled()
    assert sorted(received(bot, u.chat_id) for u in users) == [0, 1, 1]
    done = await stored(bot, broadcast_id)
    assert (done.status, done.sent, done.failed) == ("done", 2, 1)


async def test_progress_reports_and_the_stop_button(bot: Harness) -> None:
    ui, texts = bot.content.ui["en"], admin_texts(bot)
    users = [await resident(bot, user_id) for user_id in range(91, 96)]
    boss = admin(bot)
    desk = bot.services.tutor.admin
    assert desk is not None
    desk.broadcast_report_every = 2
    broadcast_id = await preview(bot, boss, f"/broadcast {TEXT}")
    await boss.press(texts.btn_broadcast_send)
    await worker(bot).stop()
    await manual_worker(bot, batch_size=2).drain()
    await bot.settled()
    reports = [
        m.visible
        for m in bot.fake.messages[ADMIN].values()
        if m.visible.startswith("Announcement #")
    ]
    progress = texts.broadcast_progress
    assert reports == [
        progress.format(id=broadcast_id, sent="<5", failed=0, blocked=0, skipped=0, remaining="<5"),
        progress.format(id=broadcast_id, sent="<5", failed=0, blocked=0, skipped=0, remaining="<5"),
        texts.broadcast_done.format(
            id=broadcast_id, recipients=5, sent=5, failed=0, blocked=0, skipped=0
        ),
    ]
    # "Stop these announcements" under an announcement: it stays, a settings message follows.
    announcement = users[0].last
    assert announcement is not None
    exchange = await users[0].press(ui.btn_stop_announcements, announcement)
    assert exchange.of("editMessageText") == []
    assert users[0].last.visible.startswith(ui.announcements_turned_off)
    assert bot.fake.messages[91][announcement.message_id].visible == TEXT
    assert not await bot.store.residents.announcements(resident_id=91)
    await preview(bot, boss, "/broadcast Second")
    notice = bot.fake.messages[ADMIN][boss.last.message_id - 1].visible
    assert "go to <5 residents" in notice
    await boss.press(texts.btn_broadcast_send)
    # The background worker (restarted with the bot) picks it up on its own.
    await bot.restart(*users, boss)
    worker(bot).wake()
    for _ in range(200):
        if all(received(bot, u.chat_id, "Second") == 1 for u in users[1:]):
            break
        await asyncio.sleep(0.02)
    assert [received(bot, u.chat_id, "Second") for u in users] == [0, 1, 1, 1, 1]


async def test_settings_toggle_in_both_languages(bot: Harness) -> None:
    for language in ("zh", "en"):
        ui = bot.content.ui[language]
        user = bot.resident(user_id=100 if language == "zh" else 101, language_code=language)
        await user.send("/start")
        await user.press(ui.btn_agree)
        await user.send("/settings")
        assert ui.settings_title in user.last.visible
        await user.press(ui.btn_announcements_off)
        assert not await bot.store.residents.announcements(resident_id=user.chat_id)
        await user.press(ui.btn_announcements_on)
        assert await bot.store.residents.announcements(resident_id=user.chat_id)
        assert user.last.labels == [ui.btn_announcements_off, ui.btn_menu]
