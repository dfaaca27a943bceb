"""'Who says so?': under a card or a quiz feedback, the issuing body and date of what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import callbacks as cb
from bot.core.checks import load_content
from bot.core.content import ContentError
from tests.conftest import Harness
from tests.core.test_content_checks import edit_topic
from tests.fakes.resident import TelegramUser


async def onboard(bot: Harness, user_id: int, language: str = "en") -> TelegramUser:
    ui = bot.content.ui["en" if language == "en" else "zh"]
    user = bot.resident(user_id=user_id, language_code=language)
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    return user


async def test_the_subsidy_card_names_its_2024_notice(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["en"]
    lesson = content.curriculum.lesson("insurance-farm")
    assert lesson is not None
    card = next(i for i, c in enumerate(lesson.cards) if "45%" in c.en)
    user = await onboard(bot, 61)
    await user.press_data(cb.encode(cb.ShowCard(lesson.id, card)))
    shown = user.last
    assert shown is not None and "45%" in shown.visible
    exchange = await user.press(ui.btn_source)
    assert exchange.answered
    sources = user.last
    assert sources is not None and sources.message_id != shown.message_id  # a new message
    assert ui.sources_title in sources.visible
    assert "2024-05-21" in sources.visible and "Ministry of Finance" in sources.visible
    # The card stays as it was, its buttons still work.
    turned = await user.press(ui.btn_next, shown)
    assert turned.answered and turned.methods[-1] == "editMessageText"


async def test_a_quiz_feedback_shows_who_says_so_in_chinese(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["zh"]
    lesson = content.curriculum.lesson("loans-cost")
    assert lesson is not None
    user = await onboard(bot, 62, "zh-hans")
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    question = lesson.quiz[0]
    await user.press(question.options[question.correct_index].text.zh)
    await user.press(ui.btn_source)
    text = user.last.visible
    assert ui.sources_title in text
    assert all(s.by.zh in text for s in lesson.sources_of(question))


@pytest.mark.parametrize("data", ["1:sc:no-such-lesson:0", "1:sc:loans-cost:99", "1:sq:no-q"])
async def test_a_stale_or_forged_source_button_gets_a_polite_answer(
    bot: Harness, data: str
) -> None:
    user = await onboard(bot, 63)
    exchange = await user.press_data(data)
    assert exchange.answered
    assert bot.content.ui["en"].stale_button in user.last.visible


def test_a_lesson_with_a_review_date_must_name_its_sources(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0].update(review_by="2027-01-31"))
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert [str(p) for p in caught.value.problems] == [
        "topics/mini.yaml: lessons[mini-a]: a lesson with a review_by needs its sources "
        "(who says so, when)"
    ]


def test_a_question_can_only_name_its_lessons_sources(content_dir: Path) -> None:
    def sources(d: dict) -> None:
        d["lessons"][0]["sources"] = [
            {"id": "pboc", "by": {"zh": "人民银行", "en": "PBOC"}, "date": "2021-03-31"}
        ]
        d["lessons"][0]["quiz"][0]["sources"] = ["nfra"]

    edit_topic(content_dir, sources)
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert [str(p) for p in caught.value.problems] == [
        "topics/mini.yaml: lessons[mini-a]: quiz[mini-a-q1].sources: no source nfra"
    ]
