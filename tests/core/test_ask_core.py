"""Ask in your own words (issue 17) in the core: the after-fraud lesson as content data, checked;
the asker built once in the background, whoever waits; the answers' screens within limits."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.core.ask import Answer, Asker
from bot.core.ask.desk import AFTER_FRAUD_TAG, after_fraud_lesson
from bot.core.ask.ready import AskerLoader
from bot.core.checks import load_content
from bot.core.content import Content
from bot.core.i18n import Language
from bot.core.screens import ask
from tests.core.test_content_checks import edit_topic, problems


def test_the_real_content_names_one_after_fraud_lesson(content: Content) -> None:
    found = after_fraud_lesson(content)
    assert found is not None
    topic, lesson = found
    assert (topic.id, lesson.id) == ("fraudhelp", "fraudhelp-stop")


def test_two_after_fraud_lessons_are_a_content_problem(content_dir: Path) -> None:
    assert after_fraud_lesson(load_content(content_dir)) is None  # none: no lesson follows

    def tag_both(data: dict[str, Any]) -> None:
        lesson = data["lessons"][0]
        data["lessons"].append({**lesson, "id": "mini-z", "tags": [AFTER_FRAUD_TAG]})
        data["lessons"][-1]["quiz"] = [
            {**q, "id": q["id"].replace("mini-a", "mini-z")} for q in lesson["quiz"]
        ]
        lesson["tags"] = [AFTER_FRAUD_TAG]

    edit_topic(content_dir, tag_both)
    assert any(AFTER_FRAUD_TAG in problem for problem in problems(content_dir))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_urgent_advice_is_three_short_lines_with_both_numbers(
    content: Content, language: Language
) -> None:
    text = ask.urgent(content, language).text
    assert text.count("\n") == 2 and "110" in text and "96110" in text


class _Counted:
    def __init__(self) -> None:
        self.builds = 0
        self.release = threading.Event()

    def build(self) -> Asker:
        self.builds += 1
        self.release.wait(60)
        return self

    def ask(self, text: str, language: Language) -> Answer:
        return Answer(urgent=False, suggestions=())


async def test_the_loader_builds_once_and_a_cancelled_waiter_cancels_nothing() -> None:
    counted = _Counted()
    loader = AskerLoader(counted.build)
    loader.start()
    loader.start()
    first = asyncio.create_task(loader.asker())
    second = asyncio.create_task(loader.asker())
    await asyncio.sleep(0)
    first.cancel()  # a stop while a question waits
    with pytest.raises(asyncio.CancelledError):
        await first
    counted.release.set()
    assert await second is counted
    assert await loader.asker() is counted and loader.ready and counted.builds == 1


async def test_a_failed_build_is_raised_to_whoever_waits() -> None:
    def broken() -> Asker:
        raise RuntimeError("no dictionary")

    loader = AskerLoader(broken)
    with pytest.raises(RuntimeError, match="no dictionary"):
        await loader.asker()
    with pytest.raises(RuntimeError, match="no dictionary"):
        await loader.asker()  # every time, never a hang
