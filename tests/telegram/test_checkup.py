"""The check-up end to end: baseline after onboarding, final after half the course, with gains."""

from __future__ import annotations

import pytest

from bot.core import callbacks as cb
from bot.core.assessment import AssessmentItem
from bot.core.content import Content
from bot.core.html import visible_text
from bot.core.i18n import Language
from bot.core.progress import LessonStatus
from tests.conftest import Harness
from tests.fakes.resident import TelegramUser

CODES: dict[Language, str] = {"zh": "zh-hans", "en": "en"}


def best(item: AssessmentItem) -> int:
    points = [o.points for o in item.options]
    return points.index(max(points))


def worst(item: AssessmentItem) -> int:
    points = [o.points for o in item.options]
    return points.index(min(points))


async def answer_checkup(
    user: TelegramUser, content: Content, language: Language, choose: dict[str, str]
) -> None:
    """Answer every item: 'best', 'worst' or 'dont_know' per item id (default 'best')."""
    ui = content.ui[language]
    items = content.assessment.items
    for number, item in enumerate(items, 1):
        page = user.last.visible
        assert ui.checkup_position.format(number=number, total=len(items)) in page
        assert visible_text(item.prompt.get(language)).strip() in page
        how = choose.get(item.id, "best")
        if how == "dont_know":
            exchange = await user.press(ui.btn_dont_know)
        else:
            index = best(item) if how == "best" else worst(item)
            exchange = await user.press(item.options[index].text.get(language))
        assert exchange.answered and exchange.methods[-1] == "editMessageText"


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_baseline_check_up_right_after_onboarding(bot: Harness, language: Language) -> None:
    content, ui = bot.content, bot.content.ui[language]
    user = bot.resident(user_id=501, language_code=CODES[language])
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    offer = user.last.visible
    items = content.assessment.items
    assert (
        ui.checkup_offer_baseline.format(items=len(items), minutes=content.assessment.minutes)
        in offer
    )
    await user.press(ui.btn_checkup_start)
    knowledge = [i for i in items if i.dimension == "knowledge"]
    # Two knowledge items wrong, one "I don't know", the rest right; habits and attitude at best.
    choose = {knowledge[0].id: "worst", knowledge[1].id: "worst", knowledge[2].id: "dont_know"}
    await answer_checkup(user, content, language, choose)
    result = user.last.visible
    k = len(knowledge)
    assert (
        ui.checkup_score_line.format(
            dimension=ui.checkup_dimension_knowledge, percent=round((k - 3) / k * 100)
        )
        in result
    )
    assert (
        ui.checkup_score_line.format(dimension=ui.checkup_dimension_behaviour, percent=100)
        in result
    )
    assert ui.checkup_dont_know.format(count=1) in result
    assert ui.checkup_first_done in result
    # The topics that teach the missed items are suggested, and can be opened from the result.
    suggested = []
    for item in knowledge[:3]:
        assert item.topic is not None  # a knowledge item names the topic that teaches it
        topic = content.curriculum.topic(item.topic)
        assert topic is not None, item.topic
        title = topic.title.get(language)
        if title not in suggested:
            suggested.append(title)
    for title in suggested[:3]:
        assert f"• {title}" in result
    await user.press(suggested[0])
    assert suggested[0] in user.last.visible
    # Stored per sitting: the scores, and "I don't know" apart from wrong answers.
    data = await bot.store.privacy.export(resident_id=501)
    (sitting,) = data["assessment_sittings"]
    assert sitting["kind"] == "baseline" and sitting["dont_know_count"] == 1
    assert sitting["knowledge_score"] == pytest.approx((k - 3) / k)
    dont_know = [a for a in data["assessment_answers"] if a["dont_know"]]
    assert [(a["item_id"], a["option_index"], a["points"]) for a in dont_know] == [
        (knowledge[2].id, None, 0)
    ]
    assert len(data["assessment_answers"]) == len(items)


async def test_skipping_the_check_up_goes_to_the_lessons(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    user = bot.resident(user_id=502, language_code="en")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    assert ui.topics_prompt in user.last.visible
    assert (await bot.store.privacy.export(resident_id=502))["assessment_sittings"] == []


async def test_final_check_up_after_half_the_course_shows_the_gain(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["en"]
    user = bot.resident(user_id=503, language_code="en")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_start)
    knowledge = [i for i in content.assessment.items if i.dimension == "knowledge"]
    await answer_checkup(user, content, "en", {i.id: "worst" for i in content.assessment.items})
    # All but one of the lessons needed for half the course, done earlier.
    lessons = [lesson for _, lesson in content.curriculum.lessons()]
    needed = (len(lessons) + 1) // 2
    for lesson in lessons[1:needed]:
        await bot.store.lessons.complete(resident_id=503, lesson_id=lesson.id)
    # Finishing one more lesson's quiz crosses the half-way mark: the final check-up is offered.
    first = lessons[0]
    await user.press_data(cb.encode(cb.StartQuiz(first.id)))
    for position, question in enumerate(first.quiz):
        await user.press(question.options[question.correct_index].text.en)
        last = position == len(first.quiz) - 1
        exchange = await user.press(ui.btn_see_result if last else ui.btn_next_question)
    # One tap, one message: the result and the offer arrive together, as an edit in place.
    assert [call.method for call in exchange.calls if call.method != "answerCallbackQuery"] == [
        "editMessageText"
    ]
    state = await bot.store.lessons.resident_state(resident_id=503)
    assert sum(s is LessonStatus.DONE for s in state.lesson_status.values()) == needed
    offer = user.last.visible
    items = content.assessment.items
    assert (
        ui.checkup_offer_final.format(items=len(items), minutes=content.assessment.minutes) in offer
    )
    await user.press(ui.btn_checkup_start)
    await answer_checkup(user, content, "en", {})
    result = user.last.visible
    assert (
        ui.checkup_change_line.format(dimension=ui.checkup_dimension_knowledge, before=0, after=100)
        in result
    )
    assert ui.checkup_final_done in result and ui.checkup_all_known in result
    sittings = (await bot.store.privacy.export(resident_id=503))["assessment_sittings"]
    assert [(s["kind"], s["knowledge_score"]) for s in sittings] == [
        ("baseline", 0.0),
        ("final", 1.0),
    ]
    assert len(knowledge) >= 8


async def test_check_up_on_request_resumes_and_ignores_double_presses(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["zh"]
    user = bot.resident(user_id=504, language_code="zh-hans")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    await user.send("/checkup")
    first = content.assessment.items[0]
    label = first.options[best(first)].text.zh
    message = user.last
    data = message.callback_data(label)
    await user.press(label)
    again = await user.press_data(data, message)
    assert again.of("answerCallbackQuery")[0].params["text"] == ui.already_answered
    await bot.restart(user)
    exchange = await user.send("/checkup")  # a new process: the sitting carries on at item 2
    assert exchange.of("sendMessage")
    assert (
        ui.checkup_position.format(number=2, total=len(content.assessment.items))
        in user.last.visible
    )
    answers = (await bot.store.privacy.export(resident_id=504))["assessment_answers"]
    assert [a["item_id"] for a in answers] == [first.id]


async def test_forged_check_up_buttons(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["en"]
    owner = bot.resident(user_id=505, language_code="en")
    await owner.send("/start")
    await owner.press(ui.btn_agree)
    await owner.press(ui.btn_profile_skip)
    await owner.press(ui.btn_checkup_start)
    action = cb.decode(owner.last.buttons[0][0].callback_data)
    assert isinstance(action, cb.CheckupAnswer)
    sitting = action.sitting_id
    behaviour = next(
        i for i, item in enumerate(content.assessment.items) if item.dimension != "knowledge"
    )
    forger = bot.resident(user_id=506, language_code="en")
    await forger.send("/start")
    await forger.press(ui.btn_agree)
    await forger.press(ui.btn_profile_skip)
    for forged, user in (
        (cb.CheckupAnswer(sitting, 0, 0), forger),  # someone else's sitting
        (cb.CheckupAnswer(sitting, 0, 9), owner),  # no such option
        (cb.CheckupAnswer(sitting, 5, 0), owner),  # a question not reached yet
        (cb.CheckupDontKnow(sitting, behaviour), owner),  # no "I don't know" on habits
        (cb.CheckupAnswer(999_999, 0, 0), owner),
    ):
        exchange = await user.press_data(cb.encode(forged))
        assert exchange.of("answerCallbackQuery")[0].params["text"] == ui.stale_button
    assert (await bot.store.privacy.export(resident_id=505))["assessment_answers"] == []
