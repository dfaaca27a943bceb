"""kill -9 at random moments while a resident's presses stream in; restart on the same database.

Every update Telegram delivered has exactly one effect: none is lost (it is either still waiting
at Telegram, unconfirmed, or in the inbox) and none is recorded twice.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

from bot.core.content import Content
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.builders import press_update, text_update
from tests.fakes.process import FinlitProcess, eventually
from tests.fakes.records import BotMessage
from tests.fakes.server import FakeTelegramServer

REPO = Path(__file__).resolve().parents[2]
USER = {"id": 777, "is_bot": False, "first_name": "Zhao", "language_code": "en"}
CHAT = {"id": 777, "type": "private", "first_name": "Zhao"}


class Bot(FinlitProcess):
    """`finlit run` polling the fake; ``start`` returns once it is polling."""

    def __init__(self, server: FakeTelegramServer, db: Path, fake: FakeTelegram) -> None:
        super().__init__(
            server, database_url=f"sqlite+aiosqlite:///{db}", token="424242:fault-test"
        )
        self.fake = fake

    async def start(self) -> None:
        polls = len(self.fake.calls_of("getUpdates"))
        await super().start()
        await until(lambda: len(self.fake.calls_of("getUpdates")) > polls)


until = eventually


def has_button(fake: FakeTelegram, label: str) -> bool:
    message = fake.last_message(777)
    return message is not None and any(label in b.text for row in message.buttons for b in row)


def last(fake: FakeTelegram) -> BotMessage:
    """The newest bot message in the resident's chat (there is one by then)."""
    message = fake.last_message(777)
    assert message is not None
    return message


def shows(fake: FakeTelegram, words: str) -> bool:
    return words in last(fake).visible


def recorded_once(db: Path, question_id: str) -> bool:
    return dict(answers(db)).get(question_id) == 1


async def press(fake: FakeTelegram, label: str) -> dict[str, Any]:
    """Press a button once the bot has shown it."""
    await until(lambda: has_button(fake, label))
    message = last(fake)
    return fake.push_update(press_update(fake, USER, message, message.callback_data(label)))


def text(fake: FakeTelegram, words: str) -> dict[str, Any]:
    return fake.push_update(text_update(fake, USER, CHAT, words))


def answers(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select question_id, count(*) from answers group by question_id"
        ).fetchall()


async def test_kill_9_mid_quiz_loses_nothing_and_doubles_nothing(
    tmp_path: Path, content: Content
) -> None:
    ui = content.ui["en"]
    _, lesson = content.curriculum.lessons()[0]
    db = tmp_path / "finlit.db"
    rng = random.Random(2026)
    fake = FakeTelegram()
    async with FakeTelegramServer(fake) as server:
        bot = Bot(server, db, fake)
        await bot.start()
        text(fake, "/start")
        await until(lambda: fake.sent_texts(777))
        for label in (ui.btn_agree, ui.btn_profile_skip, ui.btn_checkup_skip):
            await press(fake, label)
        await until(lambda: has_button(fake, ui.btn_menu))
        text(fake, "/menu")
        await until(lambda: shows(fake, ui.menu_prompt))
        # Straight into the first lesson's quiz.
        from bot.core import callbacks as cb

        fake.push_update(press_update(fake, USER, last(fake), cb.encode(cb.StartQuiz(lesson.id))))
        await until(lambda: shows(fake, "Question 1 of"))

        for position, question in enumerate(lesson.quiz[:4]):
            # The answer and the "next" press arrive; the process dies at a random moment.
            await press(fake, question.options[question.correct_index].text.en)
            await asyncio.sleep(rng.uniform(0.0, 0.15))
            await bot.kill()
            await bot.start()  # a new process on the same database
            await until(partial(recorded_once, db, question.id))
            final = position == len(lesson.quiz) - 1
            await until(lambda: shows(fake, ui.answer_right))
            await press(fake, ui.btn_see_result if final else ui.btn_next_question)
            await until(partial(shows, fake, f"Question {position + 2} of"))
        returncode, log = await bot.stop()
        assert returncode == 0, log

    # Exactly one answer per question, for every press Telegram delivered.
    assert answers(db) == sorted((q.id, 1) for q in lesson.quiz[:4])
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from inbox where done_at is null").fetchone() == (0,)
        assert conn.execute("select count(*) from outbox").fetchone() == (0,)
    assert "Traceback" not in log


async def test_kill_9_with_a_long_outbox_loses_no_reply(tmp_path: Path) -> None:
    """A room joins at once: the replies queue up behind Telegram's 30 a second. kill -9 while
    they go out, restart: every reply arrives, and only sends that were in flight can repeat."""
    from bot.telegram.delivery import MAX_IN_FLIGHT

    db = tmp_path / "finlit.db"
    fake = FakeTelegram()
    residents = range(5000, 5060)
    for resident in residents:
        fake.add_chat(resident, chat_type="private", first_name="Wang")

    def say(resident: int, words: str) -> None:
        entities = [{"type": "bot_command", "offset": 0, "length": len(words)}]
        sender = {"id": resident, "is_bot": False, "first_name": "Wang", "language_code": "zh"}
        chat = {"id": resident, "type": "private", "first_name": "Wang"}
        fake.push_update(
            {
                "message": {
                    "message_id": fake.next_message_id(resident),
                    "date": 1_700_000_000,
                    "from": sender,
                    "chat": chat,
                    "text": words,
                    "entities": entities,
                }
            }
        )

    def received() -> dict[int, int]:
        counts = dict.fromkeys(residents, 0)
        for call in fake.calls_of("sendMessage"):
            if call.ok and int(call.params["chat_id"]) in counts:
                counts[int(call.params["chat_id"])] += 1
        return counts

    async with FakeTelegramServer(fake) as server:
        bot = Bot(server, db, fake)
        await bot.start()
        for resident in residents:  # 120 replies: four seconds of Telegram's pace
            say(resident, "/start")
            say(resident, "/help")
        await until(lambda: sum(received().values()) >= 30)
        await bot.kill()  # with most of the replies still queued
        with sqlite3.connect(db) as conn:
            queued = conn.execute("select count(*) from outbox").fetchone()[0]
        assert queued > 0
        await bot.start()
        await until(lambda: all(n >= 2 for n in received().values()), seconds=60)
        returncode, log = await bot.stop()
        assert returncode == 0, log
    counts = received()
    assert all(n >= 2 for n in counts.values())  # no reply lost
    assert sum(counts.values()) - 2 * len(counts) <= MAX_IN_FLIGHT  # only those in flight repeat
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from outbox").fetchone() == (0,)
        assert conn.execute("select count(*) from inbox where done_at is null").fetchone() == (0,)
    assert "Traceback" not in log
