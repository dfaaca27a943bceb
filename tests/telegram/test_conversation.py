"""End to end: residents talking to the real Application over the fake Bot API."""

from __future__ import annotations

import json

import pytest

from bot.core.content import Content
from bot.core.curriculum import Lesson, Topic
from bot.core.html import visible_text
from bot.core.i18n import Language
from tests.conftest import Harness
from tests.fakes.resident import TelegramUser

LANGUAGE_CODES: dict[Language, str] = {"zh": "zh-hans", "en": "en-US"}


def seen(html: str) -> str:
    """What a reader sees of an author's HTML."""
    return visible_text(html).strip()


async def onboard(bot: Harness, language: Language = "zh", **kwargs: object) -> TelegramUser:
    """Start, accept the privacy notice, skip the baseline check-up, and open the menu."""
    user = bot.resident(language_code=LANGUAGE_CODES[language], **kwargs)
    await user.send("/start")
    await user.press(bot.content.ui[language].btn_agree)
    await user.press(bot.content.ui[language].btn_profile_skip)
    await user.press(bot.content.ui[language].btn_checkup_skip)
    await user.send("/menu")
    return user


async def walk_lesson(
    user: TelegramUser,
    content: Content,
    language: Language,
    topic: Topic,
    lesson: Lesson,
    *,
    wrong_at: frozenset[int] = frozenset(),
) -> None:
    """Open a lesson from the menu, read every card, take the quiz; answer wrong at ``wrong_at``."""
    ui = content.ui[language]
    await user.send("/menu")
    await user.press(ui.btn_lessons)
    await user.press(topic.title.get(language))
    assert seen(topic.summary.get(language)) in user.last.visible
    await user.press(lesson.title.get(language))
    quiz_message = user.last
    for index, card in enumerate(lesson.cards):
        assert seen(card.get(language)) in user.last.visible
        if index < len(lesson.cards) - 1:
            exchange = await user.press(ui.btn_next)
            assert exchange.answered and exchange.methods[-1] == "editMessageText"
    await user.press(ui.btn_take_quiz)
    assert user.last is not None and user.last.message_id == quiz_message.message_id
    for position, question in enumerate(lesson.quiz):
        assert seen(question.prompt.get(language)) in user.last.visible
        correct = question.correct_index
        chosen = (correct + 1) % len(question.options) if position in wrong_at else correct
        option = question.options[chosen]
        exchange = await user.press(option.text.get(language))
        assert exchange.answered
        feedback = user.last.visible
        assert (ui.answer_wrong if position in wrong_at else ui.answer_right) in feedback
        assert seen(question.explanation.get(language)) in feedback
        if option.feedback is not None:
            assert seen(option.feedback.get(language)) in feedback
        last = position == len(lesson.quiz) - 1
        await user.press(ui.btn_see_result if last else ui.btn_next_question)
    right = len(lesson.quiz) - len(wrong_at)
    score = (right * 200 + len(lesson.quiz)) // (len(lesson.quiz) * 2)
    expected = ui.quiz_score.format(right=right, total=len(lesson.quiz), score=score)
    # The result replaces the quiz message (an offer of the final check-up may follow it).
    result = user.fake.messages[user.chat_id][quiz_message.message_id]
    assert expected in result.visible


async def open_first_quiz(user: TelegramUser, content: Content, language: Language) -> Lesson:
    """From the menu, through the first lesson's cards, to its first question."""
    ui = content.ui[language]
    topic, lesson = content.curriculum.lessons()[0]
    await user.send("/menu")
    await user.press(ui.btn_lessons)
    await user.press(topic.title.get(language))
    await user.press(lesson.title.get(language))
    for _ in lesson.cards[1:]:
        await user.press(ui.btn_next)
    await user.press(ui.btn_take_quiz)
    return lesson


# Onboarding and privacy


@pytest.mark.parametrize(
    ("code", "language"),
    [("zh-hans", "zh"), ("zh-TW", "zh"), ("en-GB", "en"), ("fr", "zh"), (None, "zh")],
)
async def test_welcome_in_the_suggested_language(
    bot: Harness, code: str | None, language: Language
) -> None:
    user = bot.resident(language_code=code, first_name="Mei")
    exchange = await user.send("/start")
    ui = bot.content.ui[language]
    assert exchange.methods == ["sendMessage"]
    assert ui.welcome_hello.format(name="Mei") in user.last.visible
    assert ui.privacy_notice in user.last.visible
    assert user.last.labels == [ui.btn_agree, ui.btn_lang_zh, ui.btn_lang_en]


async def test_only_the_minimum_is_stored_before_consent(bot: Harness) -> None:
    user = bot.resident(user_id=77, language_code="en", first_name="Secret Name")
    await user.send("/start")
    await user.send("/menu")  # asks for consent again, does nothing else
    assert bot.content.ui["en"].consent_needed in user.last.visible
    data = await bot.store.privacy.export(resident_id=77)
    assert [r["consent_at"] for r in data["residents"]] == [None]
    assert data["lesson_progress"] == data["quiz_attempts"] == data["answers"] == []
    assert "Secret Name" not in json.dumps(data)


async def test_buttons_before_consent_lead_back_to_the_notice(bot: Harness) -> None:
    user = bot.resident(language_code="en")
    await user.send("/start")
    exchange = await user.press_data("1:t")
    assert exchange.answered
    assert bot.content.ui["en"].consent_needed in user.last.visible


async def test_language_can_be_switched_before_and_after_consent(bot: Harness) -> None:
    zh, en = bot.content.ui["zh"], bot.content.ui["en"]
    user = bot.resident(language_code="zh-hans", first_name="Wang")
    await user.send("/start")
    await user.press(en.btn_lang_en)
    assert en.welcome_hello.format(name="Wang") in user.last.visible
    await user.press(en.btn_agree)
    assert en.consent_thanks in user.last.visible
    assert user.last.labels == [en.btn_profile_start, en.btn_profile_skip]
    await user.send("/language")
    await user.press(zh.btn_lang_zh)
    assert zh.language_set in user.last.visible
    assert user.last.labels[0] == zh.btn_lessons


async def test_unknown_deep_link_is_ignored_politely(bot: Harness) -> None:
    user = bot.resident(language_code="en")
    await user.send("/start cohort-that-does-not-exist")
    assert bot.content.ui["en"].welcome_unknown_link in user.last.visible


async def test_returning_resident_gets_the_menu(bot: Harness) -> None:
    user = await onboard(bot, "en", first_name="Ann")
    await user.send("/start")
    ui = bot.content.ui["en"]
    assert ui.welcome_hello.format(name="Ann") in user.last.visible
    labels = user.last.labels
    assert labels[:3] == [ui.btn_lessons, ui.btn_continue, ui.btn_progress]
    assert labels[-3:] == [ui.btn_help, ui.btn_language, ui.btn_scammed]
    # The fraud tools (issue 16) sit between them.
    assert bot.content.drills is not None and bot.content.loans is not None
    assert bot.content.drills.texts["en"].btn_drill in labels
    assert bot.content.loans.texts["en"].btn_loan in labels


async def test_command_menu_is_published_in_both_languages(bot: Harness) -> None:
    calls = bot.fake.calls_of("setMyCommands")
    by_language = {call.params.get("language_code"): call.params["commands"] for call in calls}
    assert set(by_language) == {"zh", "en", None}
    names = [c["command"] for c in by_language["en"]]
    assert names == [
        "start",
        "menu",
        "check",
        "drill",
        "loan",
        "progress",
        "language",
        "help",
        "checkup",
        "mydata",
        "forget",
        "settings",
    ]
    assert by_language["zh"][1]["description"] == bot.content.ui["zh"].commands.menu
    assert by_language[None] == by_language["zh"]  # DEFAULT_LANGUAGE


# Lessons and quizzes


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_every_starter_lesson_and_quiz_end_to_end(bot: Harness, language: Language) -> None:
    content = bot.content
    user = await onboard(bot, language)
    for topic, lesson in content.curriculum.lessons():
        await walk_lesson(user, content, language, topic, lesson, wrong_at=frozenset({1}))
    await user.send("/progress")
    ui = content.ui[language]
    page = user.last.visible
    for topic in content.curriculum.topics:
        assert topic.title.get(language) in page
        n = len(topic.lessons)
        assert ui.progress_topic_line.format(done=n, total=n) in page
    questions = sum(len(lesson.quiz) for _, lesson in content.curriculum.lessons())
    mastered = questions - len(content.curriculum.lessons())
    percent = (mastered * 200 + questions) // (questions * 2)
    assert (
        ui.progress_overall.format(percent=percent, mastered=mastered, questions=questions) in page
    )
    # Every lesson now carries the done mark.
    await user.send("/menu")
    await user.press(ui.btn_lessons)
    assert all(label.startswith(ui.mark_done) for label in user.last.labels[:-1])


async def test_pages_turn_in_place_without_flooding_the_chat(bot: Harness) -> None:
    user = await onboard(bot, "en")
    topic, lesson = bot.content.curriculum.lessons()[0]
    ui = bot.content.ui["en"]
    await user.send("/menu")
    before = len(user.texts())
    await user.press(ui.btn_lessons)
    await user.press(topic.title.en)
    await user.press(lesson.title.en)
    await user.press(ui.btn_next)
    await user.press(ui.btn_back)
    assert len(user.texts()) == before
    assert seen(lesson.cards[0].en) in user.last.visible
    await user.press(ui.btn_back)  # from the first card back to the topic
    assert seen(topic.summary.en) in user.last.visible


async def test_retry_only_the_missed_questions(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["en"]
    user = await onboard(bot, "en", user_id=5)
    topic, lesson = content.curriculum.lessons()[0]
    await walk_lesson(user, content, "en", topic, lesson, wrong_at=frozenset({0, 2}))
    await user.press(ui.btn_retry_missed)
    asked = []
    for number in (1, 2):
        assert ui.question_position.format(number=number, total=2) in user.last.visible
        question = next(q for q in lesson.quiz if seen(q.prompt.en) in user.last.visible)
        asked.append(question.id)
        await user.press(question.options[question.correct_index].text.en)
        await user.press(ui.btn_see_result if number == 2 else ui.btn_next_question)
    assert asked == [lesson.quiz[0].id, lesson.quiz[2].id]
    assert ui.quiz_score.format(right=2, total=2, score=100) in user.last.visible
    state = await bot.store.lessons.resident_state(resident_id=5)
    assert all(state.latest_correct[q.id] for q in lesson.quiz)


async def test_continue_resumes_the_quiz_or_the_next_lesson(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["zh"]
    user = await onboard(bot, "zh")
    _, first = content.curriculum.lessons()[0]
    await user.press(ui.btn_continue)  # nothing started: the first lesson opens
    assert seen(first.cards[0].zh) in user.last.visible
    await open_first_quiz(user, content, "zh")
    q0 = first.quiz[0]
    await user.press(q0.options[q0.correct_index].text.zh)
    await user.send("/menu")
    await user.press(ui.btn_continue)
    assert seen(first.quiz[1].prompt.zh) in user.last.visible


# Answers are stored once, and before the reply


async def test_answer_is_committed_before_the_reply(bot: Harness) -> None:
    content = bot.content
    user = await onboard(bot, "en", user_id=9)
    lesson = await open_first_quiz(user, content, "en")
    question = lesson.quiz[0]
    # Telegram fails while the feedback is being shown: the answer must already be on disk.
    bot.fake.fail_next("editMessageText", status=500)
    bot.fake.fail_next("sendMessage", status=None)
    user.raise_errors = False
    await user.press(question.options[question.correct_index].text.en)
    bot.errors.clear()  # this test expects the handler to fail
    data = await bot.store.privacy.export(resident_id=9)
    assert [(a["question_id"], a["correct"]) for a in data["answers"]] == [(question.id, True)]


async def test_double_press_and_redelivery_record_one_answer(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["en"]
    user = await onboard(bot, "en", user_id=11)
    lesson = await open_first_quiz(user, content, "en")
    question = lesson.quiz[0]
    label = question.options[question.correct_index].text.en
    message = user.last
    data = message.callback_data(label)
    await user.press(label)
    replay = user.last_update
    # The same button pressed again (an old copy of the message), with a different choice too.
    second = await user.press_data(data, message)
    assert second.answered
    assert ui.already_answered in second.of("answerCallbackQuery")[0].params.get("text", "")
    wrong = next(i for i, o in enumerate(question.options) if not o.correct)
    await user.press_data(data.rsplit(":", 1)[0] + f":{wrong}", message)
    # Telegram delivers the first update again (e.g. after a crash before the offset moved).
    await user.replay(replay)
    answers = (await bot.store.privacy.export(resident_id=11))["answers"]
    assert [(a["question_id"], a["option_index"]) for a in answers] == [
        (question.id, question.correct_index)
    ]


async def test_restart_mid_quiz_carries_on(bot: Harness) -> None:
    content, ui = bot.content, bot.content.ui["zh"]
    user = await onboard(bot, "zh", user_id=21)
    lesson = await open_first_quiz(user, content, "zh")
    q0 = lesson.quiz[0]
    await user.press(q0.options[q0.correct_index].text.zh)
    await bot.restart(user)  # a new process on the same database
    await user.press(ui.btn_next_question)  # the button on the old message still works
    assert seen(lesson.quiz[1].prompt.zh) in user.last.visible
    q1 = lesson.quiz[1]
    await user.press(q1.options[q1.correct_index].text.zh)
    answers = (await bot.store.privacy.export(resident_id=21))["answers"]
    assert [a["question_id"] for a in answers] == [q0.id, q1.id]


# Progress


async def test_progress_before_anything(bot: Harness) -> None:
    user = await onboard(bot, "en")
    await user.press(bot.content.ui["en"].btn_progress)
    ui = bot.content.ui["en"]
    assert ui.progress_empty in user.last.visible
    questions = sum(len(lesson.quiz) for _, lesson in bot.content.curriculum.lessons())
    assert (
        ui.progress_overall.format(percent=0, mastered=0, questions=questions) in user.last.visible
    )


async def test_help(bot: Harness) -> None:
    user = await onboard(bot, "zh")
    await user.send("/help")
    assert bot.content.ui["zh"].help_text.splitlines()[0] in user.last.visible
