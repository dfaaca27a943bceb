"""'Who says so?': under a card or a quiz feedback, the issuing body and date of what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core import callbacks as cb
from bot.core.checks import load_content
from bot.core.content import ContentError
from tests.conftest import Harness
from tests.core.test_content_checks import REPO, edit_topic
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
    def sources(d: dict[str, Any]) -> None:
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


# A question names the sources its explanation rests on, or "none" for reasoning and advice.


async def test_a_question_shows_only_the_sources_it_names(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["en"]
    lesson = content.curriculum.lesson("loans-farm")
    assert lesson is not None and len(lesson.sources) > 1
    position, question = next((i, q) for i, q in enumerate(lesson.quiz) if q.id == "loans-farm-q4")
    assert question.sources == ("langfang-court",)
    user = await onboard(bot, 64)
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    for earlier in lesson.quiz[:position]:
        await user.press(earlier.options[earlier.correct_index].text.en)
        await user.press(ui.btn_next_question)
    await user.press(question.options[question.correct_index].text.en)
    exchange = await user.press(ui.btn_source)
    assert exchange.answered
    text = user.last.visible
    assert "Langfang court" in text
    assert not [s.by.en for s in lesson.sources if s.id != "langfang-court" and s.by.en in text]


async def test_a_question_of_pure_reasoning_has_no_source_button(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["zh"]
    lesson = content.curriculum.lesson("basics-interest")
    assert lesson is not None
    question = lesson.quiz[0]
    assert question.sources == "none"
    user = await onboard(bot, 65, "zh-hans")
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    await user.press(question.options[question.correct_index].text.zh)
    feedback = user.last
    assert feedback is not None
    labels = [button.text for row in feedback.buttons for button in row]
    assert ui.btn_next_question in labels and ui.btn_source not in labels
    # A forged "who says so" for it gets the polite answer, not an empty list of sources.
    exchange = await user.press_data(cb.encode(cb.QuestionSources(question.id)))
    assert exchange.answered
    assert ui.stale_button in user.last.visible


def test_every_question_of_a_lesson_with_sources_says_which(content_dir: Path) -> None:
    def two_sources(d: dict[str, Any]) -> None:
        d["lessons"][0]["sources"] = [
            {"id": "pboc", "by": {"zh": "人民银行", "en": "PBOC"}, "date": "2021-03-31"},
            {"id": "nfra", "by": {"zh": "金融监管总局", "en": "NFRA"}, "date": "2023-05-18"},
        ]
        d["lessons"][0]["quiz"][0]["sources"] = ["pboc"]

    edit_topic(content_dir, two_sources)
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert [str(p) for p in caught.value.problems] == [
        "topics/mini.yaml: lessons[mini-a].quiz[mini-a-q2].sources: the lesson has 2 sources: "
        "name the ones the explanation rests on, or say 'none' for reasoning or plain advice"
    ]


def test_none_means_no_source_to_show(content_dir: Path) -> None:
    def none(d: dict[str, Any]) -> None:
        d["lessons"][0]["sources"] = [
            {"id": "pboc", "by": {"zh": "人民银行", "en": "PBOC"}, "date": "2021-03-31"},
            {"id": "nfra", "by": {"zh": "金融监管总局", "en": "NFRA"}, "date": "2023-05-18"},
        ]
        for question in d["lessons"][0]["quiz"]:
            question["sources"] = "none"

    edit_topic(content_dir, none)
    content = load_content(content_dir)
    lesson = content.curriculum.lesson("mini-a")
    assert lesson is not None
    assert [lesson.sources_of(q) for q in lesson.quiz] == [[], []]


def test_a_question_with_no_source_states_no_rule_or_figure(content_dir: Path) -> None:
    def claims(d: dict[str, Any]) -> None:
        first, second = d["lessons"][0]["quiz"]
        first["sources"] = "none"
        first["explanation"] = {
            "zh": "根据《条码支付业务规范》，静态码每天最多付500元。",
            "en": "Under the PBOC's rules, a static code pays at most 500 yuan a day.",
        }
        second["explanation"] = {  # a sum worked out from the question's own figures: fine
            "zh": "收款码是固定的：72÷6＝12，可以给别人看。",
            "en": "The receiving code is fixed: 72 ÷ 6 = 12, safe to show.",
        }

    edit_topic(content_dir, claims)
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    where = "topics/mini.yaml: lessons[mini-a].quiz[mini-a-q1].explanation"
    assert [str(p) for p in caught.value.problems] == [
        f"{where}.en: states a figure the question does not give (500) but names no source: "
        "name the source, show the sum, or leave the figure out",
        f"{where}.en: states a rule ('PBOC') but names no source: name the lesson's source it "
        "rests on, or rephrase it as advice",
        f"{where}.zh: states a figure the question does not give (500) but names no source: "
        "name the source, show the sum, or leave the figure out",
        f"{where}.zh: states a rule ('《') but names no source: name the lesson's source it "
        "rests on, or rephrase it as advice",
    ]


def test_the_real_curriculum_leaves_no_question_showing_every_source_by_default() -> None:
    content = load_content(REPO / "content")
    everything = [
        q.id
        for _, lesson in content.curriculum.lessons()
        for q in lesson.quiz
        if len(lesson.sources) > 1 and q.sources == ()
    ]
    named = [q.sources for _, lesson in content.curriculum.lessons() for q in lesson.quiz]
    assert everything == []
    assert named.count("none") >= 30
