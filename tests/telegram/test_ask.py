"""Ask in your own words (issue 17) end to end: danger first (before consent too, and then
nothing is stored), lessons found and opened, the 🚨 button, nothing found, the loan calculator
still taking its numbers, nothing typed kept or logged, and a question that comes before the
search is built waiting for it while everyone else is answered."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from bot.core import callbacks as cb
from bot.core.ask import Answer, Asker, Suggestion
from bot.core.ask.desk import after_fraud_lesson
from bot.core.ask.ready import AskerLoader
from bot.core.content import Content
from bot.core.html import visible_text
from bot.core.i18n import Language
from bot.settings import Settings
from bot.store.schema import inbox, metadata
from tests.conftest import Harness
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.process import eventually
from tests.fakes.resident import TelegramUser

DANGER_ZH = "有人让我把钱转到安全账户"
DANGER_EN = "the police told me my account will be frozen unless I move my money to a safe account"
ECNY_ZH = "什么是数字人民币？"
CREDIT_EN = "how do I check my credit report"
OFF_TOPIC_ZH = "今天天气怎么样"
CODES = {"zh": "zh-hans", "en": "en"}


async def onboard(bot: Harness, user_id: int, language: Language = "zh") -> TelegramUser:
    ui = bot.content.ui[language]
    user = bot.resident(user_id=user_id, language_code=CODES[language])
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    return user


def urgent_lines(content: Content, language: Language) -> list[str]:
    ui = content.ui[language]
    return [ui.ask_urgent_stop, ui.ask_urgent_110, ui.ask_urgent_96110]


def assert_urgent_first(content: Content, language: Language, texts: list[str]) -> None:
    """The urgent advice is the first message; the after-fraud lesson's first card follows."""
    first = visible_text(texts[0])
    assert all(line in first for line in urgent_lines(content, language))
    assert "110" in first and "96110" in first
    found = after_fraud_lesson(content)
    assert found is not None
    _, lesson = found
    assert len(texts) == 2 and lesson.title.get(language) in visible_text(texts[1])


def lesson_button(content: Content, language: Language, lesson_id: str) -> str:
    lesson = content.curriculum.lesson(lesson_id)
    assert lesson is not None
    return content.ui[language].btn_ask_lesson.format(title=lesson.title.get(language))


# Kept for the delivery, not about the resident: the inbox's update ids (a few days) and, on
# PostgreSQL, which replica sends to a chat with the chat's pacing (purged an hour after its last
# message, README "Several replicas").
DELIVERY_ONLY = {inbox.name, "outbox_claims"}


async def rows_naming(bot: Harness, person: int) -> dict[str, int]:
    """How many rows of each table name ``person`` (the delivery's own tables aside)."""
    found: dict[str, int] = {}
    async with bot.store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in DELIVERY_ONLY:
                continue
            for column in table.columns:
                if column.name in ("id", "resident_id", "chat_id", "user_id") and isinstance(
                    column.type, sa.BigInteger | sa.Integer
                ):
                    if table.name != "residents" and column.name == "id":
                        continue
                    query = sa.select(sa.func.count()).select_from(table).where(column == person)
                    count = int((await conn.execute(query)).scalar() or 0)
                    if count:
                        found[table.name] = count
    return found


@pytest.mark.parametrize(("language", "text"), [("zh", DANGER_ZH), ("en", DANGER_EN)])
async def test_danger_gets_urgent_advice_first_before_consent_and_nothing_is_stored(
    bot: Harness, language: Language, text: str
) -> None:
    user = bot.resident(user_id=7001, language_code=CODES[language])
    exchange = await user.send(text)  # the very first thing they ever send
    assert_urgent_first(bot.content, language, exchange.texts)
    assert await bot.store.residents.get(resident_id=7001) is None
    # Delivered: nothing in any table names them, and the inbox kept no payload.
    assert await rows_naming(bot, 7001) == {}
    assert await bot.store.asks.counts() == {}  # not even counted
    async with bot.store.engine.connect() as conn:
        query = sa.select(inbox.c.payload).where(inbox.c.update_id == exchange.update["update_id"])
        assert (await conn.execute(query)).scalar_one() is None


async def test_danger_after_start_without_consent_changes_nothing(bot: Harness) -> None:
    user = bot.resident(user_id=7002, language_code="zh-hans")
    await user.send("/start")
    before = await bot.store.privacy.export(resident_id=7002)
    exchange = await user.send(DANGER_ZH)
    assert_urgent_first(bot.content, "zh", exchange.texts)
    after = await bot.store.privacy.export(resident_id=7002)
    for kept in DELIVERY_ONLY:  # the chat's pacing moves with every message sent
        before.pop(kept, None)
        after.pop(kept, None)
    assert after == before  # not even "last seen"
    # Any other text: the privacy notice first, as before.
    await user.send(ECNY_ZH)
    assert bot.content.ui["zh"].btn_agree in user.last.labels


async def test_danger_from_a_consented_resident_is_answered_and_counted(bot: Harness) -> None:
    user = await onboard(bot, 7003)
    exchange = await user.send(DANGER_ZH)
    assert_urgent_first(bot.content, "zh", exchange.texts)
    counts = await bot.store.asks.counts()
    assert counts == {"asked": 1, "urgent": 1}


@pytest.mark.parametrize(
    ("language", "text", "lesson_id"),
    [("zh", ECNY_ZH, "ecny-what"), ("en", CREDIT_EN, "credit-check")],
)
async def test_a_question_gets_lesson_buttons_that_open_the_lesson(
    bot: Harness, language: Language, text: str, lesson_id: str
) -> None:
    ui = bot.content.ui[language]
    user = await onboard(bot, 7004, language)
    exchange = await user.send(text)
    assert len(exchange.texts) == 1
    shown = visible_text(exchange.texts[0])
    assert ui.ask_found in shown and ui.ask_urgent_stop not in shown
    label = lesson_button(bot.content, language, lesson_id)
    assert label in user.last.labels and 2 <= len(user.last.labels) <= 4
    assert user.last.labels[-1] == ui.btn_menu
    listing = user.last
    opened = await user.press(label)
    lesson = bot.content.curriculum.lesson(lesson_id)
    assert lesson is not None
    # The lesson's first card, as a new message: the list of suggestions stays above it.
    assert opened.methods.count("sendMessage") == 1 and "editMessageText" not in opened.methods
    assert lesson.title.get(language) in user.last.visible
    assert listing.message_id in bot.fake.messages[7004] and user.last is not listing
    state = await bot.store.lessons.in_progress(resident_id=7004)
    assert state is not None and state.lesson_id == lesson_id
    counts = await bot.store.asks.counts()
    assert counts["asked"] == counts["lesson"] == counts["opened"] == 1
    topic = bot.content.curriculum.topic_of(lesson_id)
    assert topic is not None and sum(v for k, v in counts.items() if k.startswith("topic:")) == 1


async def test_nothing_found_is_one_kind_line_and_the_topics(bot: Harness) -> None:
    ui = bot.content.ui["zh"]
    user = await onboard(bot, 7005)
    exchange = await user.send(OFF_TOPIC_ZH)
    assert len(exchange.texts) == 1
    assert visible_text(exchange.texts[0]).strip() == ui.ask_nothing
    topics = [t.title.get("zh") for t in bot.content.curriculum.topics]
    assert user.last.labels == [*topics, ui.btn_menu]
    await user.press(topics[1])
    assert bot.content.curriculum.topics[1].title.get("zh") in user.last.visible
    assert await bot.store.asks.counts() == {"asked": 1, "nothing": 1}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_the_scammed_button_gives_the_advice_and_the_lesson_in_one_tap(
    bot: Harness, language: Language
) -> None:
    ui = bot.content.ui[language]
    user = await onboard(bot, 7006, language)
    await user.send("/menu")
    assert user.last.labels[-1] == ui.btn_scammed
    exchange = await user.press(ui.btn_scammed)
    assert exchange.answered
    assert exchange.methods.count("sendMessage") == 2  # new messages: a phone rings for them
    assert_urgent_first(bot.content, language, exchange.texts)
    assert await bot.store.asks.counts() == {"button": 1}


async def test_stale_and_forged_ask_buttons_get_the_polite_answer(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    user = await onboard(bot, 7007, "en")
    for data in ("1:ao:no-such-lesson", "1:ao:", "1:ao:UPPER", "1:sos:1", "1:ao:" + "a" * 60):
        exchange = await user.press_data(data)
        assert exchange.of("answerCallbackQuery")[0].params["text"] == ui.stale_button
    assert await bot.store.asks.counts() == {}
    # A real lesson id opens it even from an old message.
    await user.press_data(cb.encode(cb.AskOpen("ecny-what")))
    assert "e-CNY" in user.last.visible or "digital" in user.last.visible.lower()


async def test_the_loan_calculator_still_takes_its_number(bot: Harness) -> None:
    assert bot.content.loans is not None
    loans = bot.content.loans.texts["en"]
    user = await onboard(bot, 7008, "en")
    await user.send("/loan")
    await user.send("9000")
    assert loans.ask_kind in user.last.visible
    assert await bot.store.asks.counts() == {}


async def test_danger_while_the_loan_calculator_waits_gets_the_advice_first(
    bot: Harness,
) -> None:
    assert bot.content.loans is not None
    loans = bot.content.loans.texts["en"]
    user = await onboard(bot, 7009, "en")
    await user.send("/loan")
    assert loans.ask_received in user.last.visible  # waiting for the amount received
    exchange = await user.send(DANGER_EN)
    # Not "please type just a number": the urgent advice comes first, as anywhere else.
    assert_urgent_first(bot.content, "en", exchange.texts)
    assert loans.not_a_number not in " ".join(exchange.texts)
    # The calculator is closed: a number typed now is not taken for the loan's amount.
    assert await bot.store.loans.get(resident_id=7009) is None
    await user.send("9000")
    assert loans.ask_kind not in user.last.visible
    # "9000" alone is now an ordinary typed text: no lesson for it.
    assert await bot.store.asks.counts() == {"asked": 2, "urgent": 1, "nothing": 1}


async def test_nothing_typed_is_kept_or_logged(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = await onboard(bot, 7009)
    stranger = bot.resident(user_id=7010, language_code="en")
    typed = [
        await user.send(ECNY_ZH),
        await user.send(DANGER_ZH + "，对方说他是王警官"),
        await user.send(OFF_TOPIC_ZH + "，玉米该收了吧"),
        await stranger.send(DANGER_EN + ", officer Zhang said"),
    ]
    stored = await bot.database_text()
    for fragment in ("数字人民币？", "王警官", "玉米该收了", "officer Zhang", "天气"):
        assert fragment not in stored
        assert fragment not in caplog.text
    async with bot.store.engine.connect() as conn:
        for exchange in typed:
            query = sa.select(inbox.c.payload, inbox.c.done_at).where(
                inbox.c.update_id == exchange.update["update_id"]
            )
            payload, done_at = (await conn.execute(query)).one()
            assert payload is None and done_at is not None


async def test_stats_count_typed_questions_for_everyone_with_suppression(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    admin_id = 900
    harness = Harness(
        fake, settings.model_copy(update={"admin_ids": frozenset({admin_id})}), content
    )
    await harness.start()
    try:
        for n in range(6):
            user = await onboard(harness, 7100 + n, "en")
            await user.send(CREDIT_EN)
        await user.send(DANGER_EN)
        admin = harness.resident(user_id=admin_id, language_code="en")
        await admin.send("/start")
        await admin.press(content.ui["en"].btn_agree)
        exchange = await admin.send("/stats")
        texts = content.ui["en"].admin
        section = visible_text(exchange.texts[1])
        hidden = texts.hidden.format(k=harness.settings.min_group_size)
        assert texts.ask_heading in section
        # 7 asked: 6 answered with a credit lesson, 1 urgent: < k, so withheld, and the 6 with
        # it (else 7 - 6 would give the 1 away).
        assert texts.ask_asked_line.format(asked="7", lesson=hidden, nothing="0", opened="0") in (
            section
        )
        assert texts.ask_urgent_line.format(urgent=hidden, button="0") in section
        topic = content.curriculum.topic_of("credit-report")
        assert topic is not None
        assert texts.ask_topic_line.format(topic=topic.title.get("en"), count=hidden) in section
    finally:
        await harness.stop()
    assert harness.errors == []


class _Gate:
    """An asker whose build waits for the test's word, recording the order of events."""

    def __init__(self, real: Asker) -> None:
        self.real = real
        self.started = threading.Event()
        self.release = threading.Event()
        self.events: list[str] = []

    def build(self) -> Asker:
        self.started.set()
        self.release.wait(60)
        self.events.append("built")
        return self

    def ask(self, text: str, language: Language) -> Answer:
        self.events.append("asked")
        return self.real.ask(text, language)


@pytest.fixture
async def gated(
    fake: FakeTelegram, settings: Settings, content: Content
) -> AsyncIterator[tuple[Harness, _Gate]]:
    from tests.conftest import built_asker

    gate = _Gate(await built_asker(content).asker())
    harness = Harness(fake, settings, content, asker=AskerLoader(gate.build))
    await harness.start()
    yield harness, gate
    gate.release.set()
    await harness.stop()
    assert harness.errors == []


async def test_a_question_before_the_search_is_ready_waits_while_others_are_answered(
    gated: tuple[Harness, _Gate],
) -> None:
    bot, gate = gated
    ui = bot.content.ui["zh"]
    asking = await onboard(bot, 7201)  # the bot answers everything else meanwhile
    assert gate.started.is_set() and gate.events == []
    await asking.submit(asking.text_update(ECNY_ZH))
    other = bot.resident(user_id=7202, language_code="zh-hans")
    await other.submit(other.text_update("/start"))
    await eventually(lambda: bot.fake.last_message(7202) is not None)
    assert ui.btn_agree in other.last.labels  # answered while the question waits
    assert gate.events == [] and ui.ask_found not in asking.last.visible
    gate.release.set()
    await bot.settled()
    assert gate.events == ["built", "asked"]
    assert ui.ask_found in asking.last.visible


class _Fixed:
    """An asker that gives one answer, whatever is asked (to test the conversation alone)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def ask(self, text: str, language: Language) -> Answer:
        return self.answer


async def test_at_most_three_known_lessons_are_offered_once_each(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    reasons = (
        Suggestion("pay-codes", "<b>Never</b> share a payment code " + "x" * 200),
        Suggestion("gone-lesson", "a lesson the content no longer has"),
        Suggestion("pay-codes", "the same lesson again"),
        Suggestion("credit-report", "check it free twice a year"),
        Suggestion("ecny-what", "what e-CNY is"),
        Suggestion("loans-cost", "a fourth one"),
    )
    answer = Answer(urgent=False, suggestions=reasons)
    harness = Harness(fake, settings, content, asker=AskerLoader.built(_Fixed(answer)))
    await harness.start()
    try:
        user = await onboard(harness, 7300, "en")
        await user.send("anything")
        labels = user.last.labels
        expected = [
            lesson_button(content, "en", i) for i in ("pay-codes", "credit-report", "ecny-what")
        ]
        assert labels == [*expected, content.ui["en"].btn_menu]
        shown = user.last.visible
        assert "Never share a payment code" in shown and "<b>" not in shown
        assert "x" * 100 not in shown and "…" in shown  # a reason is one line, cut to fit
    finally:
        await harness.stop()
    assert harness.errors == []


async def test_a_failed_build_is_an_apology_not_a_crash(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    def broken() -> Asker:
        raise RuntimeError("the index could not be built")

    harness = Harness(fake, settings, content, asker=AskerLoader(broken))
    await harness.start()
    try:
        user = await onboard(harness, 7400, "en")
        user.raise_errors = False
        await user.send(CREDIT_EN)
        assert content.ui["en"].error_apology in user.last.visible
        await user.send("/menu")  # everything else still works
        assert content.ui["en"].btn_scammed in user.last.labels
    finally:
        harness.errors.clear()  # the failure was reported, as it should be
        await harness.stop()
