"""A lecture hall's worth of residents: nobody waits for anybody else.

These tests check the *order of events*, never timings: a chat whose sends hang, a resident who
taps a hundred times, a chattering group. Updates are handed to the bot without waiting
(``submit``), as they arrive from Telegram, and the test then looks at what happened first.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any

import pytest
from telegram.error import NetworkError

from bot.core import callbacks as cb
from bot.core.html import visible_text
from bot.core.i18n import Language
from bot.telegram import dispatch
from bot.telegram.metrics import METRICS
from bot.telegram.processing import DurableApplication
from tests.conftest import Harness
from tests.fakes.process import eventually
from tests.fakes.records import ApiCall
from tests.fakes.resident import TelegramUser


async def onboard(bot: Harness, user_id: int, language: Language = "en") -> TelegramUser:
    ui = bot.content.ui[language]
    user = bot.resident(user_id=user_id, language_code=language)
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    return user


def handled_in_order(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the update ids in the order their handling begins (the inbox's done-mark is the
    first thing a unit of work does)."""
    order: list[int] = []
    store = bot.store
    real = store.inbox.finish

    async def recording(*, update_id: int) -> bool:
        order.append(update_id)
        return bool(await real(update_id=update_id))

    monkeypatch.setattr(store.inbox, "finish", recording)
    return order


def gate(bot: Harness, method: str, chat_id: int) -> asyncio.Event:
    """Make ``method`` calls to ``chat_id`` hang until the returned event is set."""
    opened = asyncio.Event()
    real = bot.fake._handlers[method]

    async def gated(params: dict[str, Any], uploads: Any) -> Any:
        if str(params.get("chat_id")) == str(chat_id):
            await opened.wait()
        return real(params, uploads)

    bot.fake._handlers[method] = gated
    return opened


def calls_to(bot: Harness, chat_id: int, method: str, since: int = 0) -> list[ApiCall]:
    return [
        c
        for c in bot.fake.calls[since:]
        if c.method == method and str(c.params.get("chat_id")) == str(chat_id)
    ]


async def test_a_press_is_answered_before_its_reply_is_sent(bot: Harness) -> None:
    user = await onboard(bot, 201)
    opened = gate(bot, "editMessageText", 201)
    start = len(bot.fake.calls)
    await user.submit(user.press_update(cb.encode(cb.Help())))
    await eventually(lambda: calls_to(bot, 201, "editMessageText", start))
    methods = [c.method for c in bot.fake.calls[start:]]
    assert methods.index("answerCallbackQuery") < methods.index("editMessageText")
    assert bot.fake.calls[start:][0].ok  # the spinner stopped while the edit still hangs
    opened.set()
    await bot.settled()


async def test_a_chat_whose_sends_hang_does_not_delay_another_resident(bot: Harness) -> None:
    slow, other = await onboard(bot, 211), await onboard(bot, 212)
    opened = gate(bot, "sendMessage", 211)
    start = len(bot.fake.calls)
    await slow.submit(slow.text_update("/help"))
    await eventually(lambda: calls_to(bot, 211, "sendMessage", start))  # hanging now
    await other.submit(other.text_update("/help"))
    await eventually(lambda: any(c.ok for c in calls_to(bot, 212, "sendMessage", start)))
    assert not any(c.ok for c in calls_to(bot, 211, "sendMessage", start))
    opened.set()
    await bot.settled()
    assert any(c.ok for c in calls_to(bot, 211, "sendMessage", start))


async def test_a_flooding_resident_holds_one_slot_and_a_bounded_queue(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    flooder, other = await onboard(bot, 221), await onboard(bot, 222)
    order = handled_in_order(bot, monkeypatch)
    app = bot.app
    assert isinstance(app, DurableApplication) and app.queues is not None
    floods = [flooder.text_update("/help") for _ in range(120)]  # commands: never collapsed
    await bot.store.inbox.accept(floods)  # as polling or the webhook does before handing over
    for update in floods:
        await flooder.submit(update)
    waiting = app.queues._residents[221]
    assert len(waiting.queue) <= dispatch.BACKLOG  # the rest waits in the inbox
    mine = other.text_update("/progress")
    await other.submit(mine)
    await bot.settled()
    # The other resident's update is handled after at most the one the flooder was on.
    assert order.index(mine["update_id"]) <= 1
    # Nothing of the flood is lost: every update handled once, in order, every reply sent.
    flood_ids = [u["update_id"] for u in floods]
    assert [i for i in order if i in set(flood_ids)] == flood_ids
    assert await bot.store.inbox.pending() == []
    helps = [t for t in bot.fake.sent_texts(221) if "finlit" in t and "/menu" in t]
    assert len(helps) >= 120


async def test_a_chattering_group_does_not_delay_a_resident(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident = await onboard(bot, 231)
    members = [
        bot.resident(user_id=2310 + n, chat_id=-2310, chat_type="supergroup", title="Village")
        for n in range(3)
    ]
    order = handled_in_order(bot, monkeypatch)
    start = len(bot.fake.calls)
    # Commands for another bot: never collapsed, never answered, each one handled.
    chatter = [members[n % 3].text_update(f"/poll@OtherBot {n}") for n in range(30)]
    for update in chatter:
        await members[0].submit(update)
    mine = resident.text_update("/help")
    await resident.submit(mine)
    await bot.settled()
    # Round-robin: each chattering member's first update, then the resident's.
    assert order.index(mine["update_id"]) <= len(members)
    assert len(order) == 31
    assert [c for c in bot.fake.calls[start:] if str(c.params.get("chat_id")) == "-2310"] == []


async def test_navigation_taps_faster_than_answers_collapse_to_the_newest(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    user = await onboard(bot, 241)
    _, lesson = bot.content.curriculum.lessons()[0]
    await user.press_data(cb.encode(cb.ShowCard(lesson.id, 0)))
    card = user.last
    before = METRICS.counters["finlit_updates_collapsed_total"]
    start = len(bot.fake.calls)
    taps = [user.press_update(cb.encode(cb.ShowCard(lesson.id, i)), card) for i in (1, 2, 3)]
    for tap in taps:
        await user.submit(tap)
    await bot.settled()
    answers = [c for c in bot.fake.calls[start:] if c.method == "answerCallbackQuery"]
    assert len(answers) == 3  # every press answered
    assert [a.params.get("text") for a in answers].count(ui.one_moment_toast) == 2
    assert METRICS.counters["finlit_updates_collapsed_total"] == before + 2
    # The card the resident tapped last is what they see, reached in one edit.
    edits = [c for c in bot.fake.calls[start:] if c.method == "editMessageText"]
    assert len(edits) == 1
    assert user.last is not None and user.last.message_id == card.message_id
    first_line = visible_text(lesson.cards[3].en).strip().splitlines()[0]
    assert first_line in user.last.visible
    assert await bot.store.inbox.pending() == []


async def test_a_quiz_answer_inside_a_flood_is_never_collapsed(bot: Harness) -> None:
    user = await onboard(bot, 251)
    _, lesson = bot.content.curriculum.lessons()[0]
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    action = cb.decode(user.last.buttons[0][0].callback_data)
    assert isinstance(action, cb.Answer)
    question = user.last
    taps = [
        user.press_update(cb.encode(cb.Help()), question),
        user.press_update(cb.encode(cb.Progress()), question),
        user.press_update(cb.encode(cb.Answer(action.attempt_id, 0, 0)), question),
        user.press_update(cb.encode(cb.Help()), question),
    ]
    for tap in taps:
        await user.submit(tap)
    await bot.settled()
    data = await bot.store.privacy.export(resident_id=251)
    assert len(data["answers"]) == 1  # the answer was recorded, not collapsed
    assert await bot.store.inbox.pending() == []


async def test_a_burst_of_typing_is_never_collapsed(bot: Harness) -> None:
    """Typed texts can be a message to check or a number the calculator asked for: each one is
    handled, in order, even when they come faster than they are answered."""
    user = await onboard(bot, 261)
    await user.send("/check")
    start = len(bot.fake.calls)
    scam = "Your account is frozen. Move your money to a safe account now and tell no one."
    await user.submit(user.text_update(scam))
    for n in range(5):
        await user.submit(user.text_update(f"hello {n}"))
    await bot.settled()
    texts = [c.params["text"] for c in calls_to(bot, 261, "sendMessage", start) if c.ok]
    assert len(texts) == 6  # each message answered on its own: typed texts never collapse
    assert bot.content.redflags is not None
    checker = bot.content.redflags.texts["en"]
    assert checker.found in texts[0]  # it was checked
    # The rest were read as questions (issue 17): a greeting finds no lesson.
    nothing = bot.content.ui["en"].ask_nothing
    assert all(nothing in html.unescape(t) for t in texts[1:]), texts[1:]
    assert await bot.store.inbox.pending() == []


async def test_a_bad_gateway_page_is_one_quiet_warning(
    bot: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await onboard(bot, 271)
    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    real = bot.fake.do_request
    failed: list[str] = []

    async def once_502(url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendMessage") and not failed:
            failed.append(url)
            return 502, page
        return await real(url, method, *args, **kwargs)

    monkeypatch.setattr(bot.fake, "do_request", once_502)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        await user.send("/help")
        # Polling's own failures reach the error handler without an update.
        assert bot.app is not None
        polling_failure = NetworkError("Bad Gateway (502)")
        await bot.app.process_error(update=None, error=polling_failure)
    bot.errors.remove(polling_failure)  # the test's own collector saw it too
    assert failed and bot.content.ui["en"].help_text.splitlines()[0] in user.last.visible
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.levelname) for r in problems] == [
        ("bot.telegram.delivery", "WARNING"),
        ("bot.telegram.handlers", "WARNING"),
    ]
    assert all(r.exc_info is None for r in problems)
    assert all("502" in r.getMessage() for r in problems)
    assert not any("<html>" in r.getMessage() for r in caplog.records)


async def test_a_long_report_does_not_hold_up_residents_answers(
    fake: Any, settings: Any, content: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/stats at province scale reads for seconds: outside any write transaction, so a quiz
    answer given meanwhile commits at once."""
    admin_id = 9001
    harness = Harness(
        fake, settings.model_copy(update={"admin_ids": frozenset({admin_id})}), content
    )
    await harness.start()
    try:
        user = await onboard(harness, 281)
        _, lesson = content.curriculum.lessons()[0]
        await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
        action = cb.decode(user.last.buttons[0][0].callback_data)
        assert isinstance(action, cb.Answer)
        desk = harness.services.tutor.admin
        assert desk is not None
        real, reading, release = desk.reports.scope_counts, asyncio.Event(), asyncio.Event()

        async def slow_report(*args: Any, **kwargs: Any) -> Any:
            reading.set()
            await release.wait()  # the long read, paused in the middle
            return await real(*args, **kwargs)

        monkeypatch.setattr(desk.reports, "scope_counts", slow_report)
        admin = harness.resident(user_id=admin_id, language_code="en")
        await admin.submit(admin.text_update("/stats"))
        await reading.wait()
        await user.submit(user.press_update(cb.encode(cb.Answer(action.attempt_id, 0, 0))))

        async def answered() -> int:
            data = await harness.store.privacy.export(resident_id=281)
            return len(data["answers"])

        for _ in range(500):  # bounded: the answer commits while the report is still paused
            if await answered():
                break
            await asyncio.sleep(0.01)
        assert await answered() == 1
        assert not release.is_set()
        release.set()
        await harness.settled()
        assert any("/stats" not in t for t in harness.fake.sent_texts(admin_id))
    finally:
        await harness.stop()
    assert harness.errors == []
