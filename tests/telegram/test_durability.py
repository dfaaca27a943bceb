"""No update lost, none handled twice: the inbox, one transaction per update, the outbox."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.core import callbacks as cb
from tests.conftest import Harness
from tests.fakes.resident import TelegramUser


async def onboard(bot: Harness, user_id: int) -> TelegramUser:
    ui = bot.content.ui["en"]
    user = bot.resident(user_id=user_id, language_code="en")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    return user


async def test_a_failing_handler_changes_nothing_and_apologises(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await onboard(bot, 101)
    store = bot.store
    tutor = bot.services.tutor

    async def half_done(visitor: Any, text: str, **_: Any) -> Any:
        await store.residents.set_language(resident_id=visitor.id, language="zh")  # an effect...
        raise RuntimeError("then a crash")  # ...and a failure before the reply

    monkeypatch.setattr(tutor, "text", half_done)
    user.raise_errors = False
    exchange = await user.send("/menu")
    assert [str(e) for e in bot.errors] == ["then a crash"]
    bot.errors.clear()
    resident = await store.residents.get(resident_id=101)
    assert resident is not None and resident.language == "en"
    assert exchange.methods == ["sendMessage"]
    assert bot.content.ui["en"].error_apology in user.last.visible
    assert await store.inbox.done(update_id=exchange.update["update_id"])


async def test_a_redelivered_command_is_answered_once(bot: Harness) -> None:
    user = await onboard(bot, 102)
    first = await user.send("/help")
    again = await user.replay()
    assert first.methods == ["sendMessage"] and again.calls == []


async def test_inbox_is_written_before_the_offset_moves(bot: Harness) -> None:
    user = bot.resident(user_id=103, language_code="en")
    update = user.text_update("/start")
    bot.fake.push_update(update)
    fetched = await bot.app.bot.get_updates(timeout=0)
    assert [u.update_id for u in fetched] == [update["update_id"]]
    # Durable now, before the next getUpdates confirms it to Telegram; not yet handled.
    assert [p["update_id"] for p in await bot.store.inbox.pending()] == [update["update_id"]]
    await bot.app.process_update(fetched[0])
    await bot.settled()
    assert await bot.store.inbox.pending() == []
    # Telegram sending it again (the offset never moved): handed over, so the next getUpdates
    # confirms it, and handling it has no second effect.
    replies = len(bot.fake.sent_texts(103))
    bot.fake.push_update(update)
    again = await bot.app.bot.get_updates(timeout=0)
    assert {u.update_id for u in again} == {update["update_id"]}
    for copy in again:
        await bot.app.process_update(copy)
    await bot.settled()
    assert len(bot.fake.sent_texts(103)) == replies


async def test_a_restart_finishes_what_a_crash_interrupted(bot: Harness) -> None:
    user = await onboard(bot, 104)
    # Accepted (acknowledged to Telegram) but the process died before handling it.
    update = user.text_update("/help")
    await bot.store.inbox.accept([update])
    before = len(bot.fake.sent_texts(104))
    await bot.restart(user)
    assert len(bot.fake.sent_texts(104)) == before + 1
    assert bot.content.ui["en"].help_text.splitlines()[0] in user.last.visible
    assert await bot.store.inbox.pending() == []


async def test_replies_survive_an_outage_and_keep_their_order(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    user = await onboard(bot, 105)
    bot.waits.clear()
    bot.fake.fail_next("sendMessage", status=None, times=5)  # down for five tries
    # Two replies queued at once: the first is retried (with backoff) before the second goes.
    await asyncio.gather(user.send("/help"), user.send("/progress"))
    assert bot.waits[:5] == pytest.approx([0.5, 1, 2, 4, 8], abs=0.05)
    texts = bot.fake.sent_texts(105)[-2:]
    assert ui.help_text.splitlines()[0] in texts[0] and ui.progress_title in texts[1]
    assert await bot.store.outbox.pending() == []


async def test_a_message_that_never_goes_through_is_dropped_and_the_next_goes(
    bot: Harness,
) -> None:
    ui = bot.content.ui["en"]
    user = await onboard(bot, 107)
    bot.fake.fail_next("sendMessage", status=502, times=8)  # eight attempts, all refused
    await asyncio.gather(user.send("/help"), user.send("/progress"))
    assert ui.progress_title in bot.fake.sent_texts(107)[-1]
    assert not any(ui.help_text.splitlines()[0] in t for t in bot.fake.sent_texts(107))
    assert await bot.store.outbox.pending() == []


async def test_queued_replies_are_sent_after_a_restart(bot: Harness) -> None:
    user = await onboard(bot, 106)
    # Committed, then the process died before delivery took it: the next start sends it.
    item = {"kind": "text", "text": "left over from the last run", "keyboard": []}
    await bot.store.outbox.add(chat_id=106, payload=item)
    await bot.restart(user)
    assert await bot.store.outbox.pending() == []
    assert user.last.visible == "left over from the last run"


async def test_one_residents_updates_never_run_at_once(bot: Harness) -> None:
    user = await onboard(bot, 108)
    _, lesson = bot.content.curriculum.lessons()[0]
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    action = cb.decode(user.last.buttons[0][0].callback_data)
    assert isinstance(action, cb.Answer)
    # Five presses of the options of question 1 arriving at the same moment.
    presses = [
        user.press_data(cb.encode(cb.Answer(action.attempt_id, 0, option)), user.last)
        for option in (0, 1, 2, 0, 1)
    ]
    exchanges = await asyncio.gather(*presses)
    assert all(e.answered for e in exchanges)
    answers = (await bot.store.privacy.export(resident_id=108))["answers"]
    assert len(answers) == 1


async def test_deliveries_to_different_residents_overlap(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite commits one writer at a time (milliseconds); the slow part, talking to Telegram,
    happens after the commit and runs side by side for different residents only."""
    users = [await onboard(bot, 110 + i) for i in range(3)]
    from bot.telegram import delivery as delivery_module
    from bot.telegram.sending import send_payload as real

    sending: list[int] = []
    overlap: list[int] = []

    async def slow(bot_: Any, chat_id: int, item: Any, *more: Any) -> int | None:
        sending.append(chat_id)
        overlap.append(len(set(sending)))
        await asyncio.sleep(0.05)
        sending.remove(chat_id)
        return await real(bot_, chat_id, item, *more)

    monkeypatch.setattr(delivery_module, "send_payload", slow)
    await asyncio.gather(*(u.send("/help") for u in users))
    assert max(overlap) >= 2, "different residents should not wait for each other"
    # One resident's replies never overlap: sent one after the other, in order.
    overlap.clear()
    await asyncio.gather(users[0].send("/help"), users[0].send("/progress"))
    assert max(overlap) == 1


async def test_blocking_is_kept_in_sync(bot: Harness) -> None:
    user = await onboard(bot, 120)
    bot_user = bot.fake.bot_user

    def membership(old: str, new: str) -> dict[str, Any]:
        return {
            "update_id": bot.fake.next_update_id(),
            "my_chat_member": {
                "chat": user.chat,
                "from": user.user,
                "date": int(time.time()),
                "old_chat_member": {"user": bot_user, "status": old, "until_date": 0},
                "new_chat_member": {"user": bot_user, "status": new, "until_date": 0},
            },
        }

    await user.replay(membership("member", "kicked"))
    assert await bot.store.residents.is_blocked(resident_id=120)
    # A message queued meanwhile (e.g. by an administrator) is not attempted.
    await bot.store.outbox.add(chat_id=120, payload={"kind": "text", "text": "x", "keyboard": []})
    bot.fake.block(120)
    bot.services.delivery.notify(120)
    await bot.settled()
    assert not [c for c in bot.fake.calls if c.params.get("chat_id") == 120 and not c.ok]
    bot.fake.unblock(120)
    await user.replay(membership("kicked", "member"))
    assert not await bot.store.residents.is_blocked(resident_id=120)


async def test_a_send_refused_as_blocked_marks_the_resident(bot: Harness) -> None:
    user = await onboard(bot, 121)
    bot.fake.block(121)
    await user.send("/menu")
    assert await bot.store.residents.is_blocked(resident_id=121)
    bot.fake.unblock(121)
    await user.send("/menu")  # writing to the bot again proves they came back
    assert not await bot.store.residents.is_blocked(resident_id=121)
    assert user.last.labels[0] == bot.content.ui["en"].btn_lessons


@pytest.mark.parametrize("times", [2, 3, 5])
async def test_replays_sequential_and_concurrent_have_one_effect(bot: Harness, times: int) -> None:
    user = await onboard(bot, 130 + times)
    _, lesson = bot.content.curriculum.lessons()[0]
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    action = cb.decode(user.last.buttons[0][0].callback_data)
    assert isinstance(action, cb.Answer)
    first = await user.press_data(cb.encode(cb.Answer(action.attempt_id, 0, 0)), user.last)
    update = first.update
    for _ in range(times - 1):
        await user.replay(update)
    await asyncio.gather(*(user.replay(update) for _ in range(times)))
    data = await bot.store.privacy.export(resident_id=130 + times)
    assert len(data["answers"]) == 1
    edits = [c for c in bot.fake.calls if c.method == "editMessageText" and c.ok]
    assert edits  # the feedback was shown once; replays changed nothing
    assert bot.errors == []


async def test_two_processes_on_one_database(bot: Harness) -> None:
    """A second application on the same database (a replacement starting early, or a second
    webhook process): racing presses are recorded once and nothing locks up."""
    other = Harness(bot.fake, bot.settings, bot.content)
    await other.start()
    try:
        user = await onboard(bot, 140)
        _, lesson = bot.content.curriculum.lessons()[0]
        await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
        action = cb.decode(user.last.buttons[0][0].callback_data)
        assert isinstance(action, cb.Answer)
        twin = TelegramUser(bot.fake, other.app, user_id=140, language_code="en")
        data = cb.encode(cb.Answer(action.attempt_id, 0, 0))
        message = user.last
        await asyncio.gather(*(u.press_data(data, message) for u in (user, twin, user, twin)))
        assert len((await bot.store.privacy.export(resident_id=140))["answers"]) == 1
        assert other.errors == [] and bot.errors == []
    finally:
        await other.stop()


async def test_a_database_failure_while_committing_is_tried_again_not_apologised_for(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit of work itself failing (here: recording the reply) is not the handler's
    failure: nothing is committed, no apology, and the handling slot tries the update again."""
    ui = bot.content.ui["en"]
    user = await onboard(bot, 150)
    store = bot.store
    real = store.outbox.add
    failures = [ConnectionError("database is locked")]

    async def flaky(**kwargs: Any) -> int:
        if failures:
            raise failures.pop()
        return int(await real(**kwargs))

    monkeypatch.setattr(store.outbox, "add", flaky)
    exchange = await user.send("/help")
    assert failures == []  # failed once, then handled again
    assert exchange.methods == ["sendMessage"]
    assert ui.help_text.splitlines()[0] in user.last.visible
    assert not any(ui.error_apology in t for t in bot.fake.sent_texts(150))
    assert await store.inbox.done(update_id=exchange.update["update_id"])
