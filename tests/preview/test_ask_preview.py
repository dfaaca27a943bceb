"""Ask in your own words (issue 17) in the terminal preview: the same core as on Telegram, so a
danger text gets the urgent advice first (before consent too), a question gets lessons that
open, the 🚨 button works, and a question typed while the search is still being built waits for
it, after everything else was answered."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from bot.core.ask import Answer, Asker
from bot.core.ask.desk import after_fraud_lesson
from bot.core.ask.ready import AskerLoader
from bot.core.content import Content
from bot.core.conversation.tutor import Tutor, Visitor
from bot.core.i18n import Language
from bot.preview.run import preview
from bot.preview.session import PreviewSession
from bot.settings import Settings
from bot.store import Store
from tests.conftest import built_asker

WALKS: dict[Language, tuple[str, str, str]] = {
    # A danger text, a question and the lesson it should find.
    "zh": ("有人让我把钱转到安全账户", "什么是数字人民币？", "ecny-what"),
    "en": (
        "someone told me to move my money to a safe account",
        "how do I check my credit report",
        "credit-check",
    ),
}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_scripted_walk_through_typed_questions(
    settings: Settings, content: Content, tmp_path: Path, language: Language
) -> None:
    danger, question, lesson_id = WALKS[language]
    ui = content.ui[language]
    found = after_fraud_lesson(content)
    lesson = content.curriculum.lesson(lesson_id)
    assert found is not None and lesson is not None
    # Danger before anything else, then onboarding (agree, skip, skip), the question, its first
    # button, the menu and its last button (🚨).
    menu_size = 9
    lines = [danger, "/start", "1", "2", "2", question, "1", "/menu", str(menu_size)]
    script = tmp_path / "walk.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    code = await preview(
        settings,
        language=language,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/p.db",
        resident_id=-1,
        name=None,
        script=script,
        out=out,
    )
    assert code == 0
    transcript = out.getvalue()
    # The first answer of all is the urgent advice, then the after-fraud lesson.
    first = transcript.split(f"> {danger}\n", 1)[1].split("> /start", 1)[0]
    assert first.index(ui.ask_urgent_stop) < first.index(found[1].title.get(language))
    assert ui.ask_urgent_110 in first and ui.ask_urgent_96110 in first
    asked = transcript.split(f"> {question}\n", 1)[1].split("\n> ", 1)[0]
    assert ui.ask_found in asked
    assert ui.btn_ask_lesson.format(title=lesson.title.get(language)) in asked
    opened = transcript.split(f"> {question}\n", 1)[1].split("\n> 1\n", 1)[1].split("\n> ", 1)[0]
    assert lesson.title.get(language) in opened
    menu = transcript.split("> /menu\n", 1)[1].split("\n> ", 1)[0]
    assert f"[{menu_size}] {ui.btn_scammed}" in menu
    pressed = transcript.rsplit(f"> {menu_size}\n", 1)[1]
    assert pressed.index(ui.ask_urgent_stop) < pressed.index(found[1].title.get(language))
    assert "<b>" not in transcript


class _Gate:
    def __init__(self, real: Asker, events: list[str]) -> None:
        self.real, self.events = real, events
        self.release = threading.Event()

    def build(self) -> Asker:
        self.release.wait(60)
        self.events.append("built")
        return self

    def ask(self, text: str, language: Language) -> Answer:
        return self.real.ask(text, language)


async def test_a_question_typed_before_the_search_is_built_waits_for_it(
    content: Content, tmp_path: Path
) -> None:
    events: list[str] = []
    gate = _Gate(await built_asker(content).asker(), events)
    loader = AskerLoader(gate.build)
    loader.start()
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    try:
        tutor = Tutor(content, store, default_language="en", asker=loader)
        visitor = Visitor(id=-1, language_hint="en", name="Ann")
        session = PreviewSession(tutor, store, visitor, events.append, ansi=False)
        ui = content.ui["en"]
        for line in ("/start", "1", "2", "2", "/menu"):  # all answered while it builds
            await session.enter(line)
        assert events and "built" not in events and not loader.ready
        shown = len(events)
        # The question waits for the build (released from a thread, as the real build ends).
        threading.Timer(0, gate.release.set).start()
        await session.enter("how do I check my credit report")
        assert events[shown] == "built"
        assert any(ui.ask_found in line for line in events[shown + 1 :])
    finally:
        gate.release.set()
        await store.close()
