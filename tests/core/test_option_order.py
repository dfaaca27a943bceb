"""Quiz options: stable ids in content, a shuffled order per resident and attempt, answers by id."""

from __future__ import annotations

import collections

from bot.core import callbacks as cb
from bot.core.content import Content
from bot.core.curriculum import Question, shown_order
from bot.store.scope_counts import first_try_wrong_options
from tests.conftest import Harness
from tests.fakes.resident import TelegramUser


def question_with(content: Content, options: int) -> Question:
    return next(
        q
        for _, lesson in content.curriculum.lessons()
        for q in lesson.quiz
        if len(q.options) == options
    )


def test_the_order_is_derived_the_same_every_time_and_differs_per_attempt(content: Content) -> None:
    question = question_with(content, 4)
    first = shown_order(question, resident_id=7, attempt_id=1)
    assert sorted(first) == [0, 1, 2, 3]
    assert shown_order(question, resident_id=7, attempt_id=1) == first  # a re-render, a restart
    orders = {shown_order(question, resident_id=7, attempt_id=a) for a in range(1, 40)}
    assert len(orders) > 10  # each attempt (a retry too) draws its own order
    others = {shown_order(question, resident_id=r, attempt_id=1) for r in range(1, 40)}
    assert len(others) > 10  # and so does each resident


def test_the_correct_option_lands_anywhere_about_equally(content: Content) -> None:
    """Over many residents, no screen position is where the answer usually is."""
    places: collections.Counter[int] = collections.Counter()
    questions = [q for _, lesson in content.curriculum.lessons() for q in lesson.quiz]
    for resident in range(200):
        for question in questions:
            if len(question.options) == 3:
                order = shown_order(question, resident_id=resident, attempt_id=resident + 1)
                places[order.index(question.correct_index)] += 1
    total = sum(places.values())
    assert all(abs(count / total - 1 / 3) < 0.02 for count in places.values()), places


def test_every_option_id_is_unique_in_its_question_and_fits_callback_data(content: Content) -> None:
    for _, lesson in content.curriculum.lessons():
        for question in lesson.quiz:
            ids = [o.id for o in question.options]
            assert len(set(ids)) == len(ids), question.id
            for option_id in ids:
                data = cb.encode(cb.Answer(2**31 - 1, 11, option_id))
                assert cb.decode(data) == cb.Answer(2**31 - 1, 11, option_id)


def test_old_callback_data_with_a_position_still_decodes_as_a_position() -> None:
    assert cb.decode("1:a:5:0:2") == cb.Answer(5, 0, 2)
    assert cb.decode("1:a:5:0:more-than-110") == cb.Answer(5, 0, "more-than-110")
    assert cb.decode("1:a:5:0:Bad-Id") is None
    assert cb.decode("1:a:5:0:２") is None


async def onboard(bot: Harness, user_id: int) -> TelegramUser:
    ui = bot.content.ui["en"]
    user = bot.resident(user_id=user_id, language_code="en")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    return user


def option_labels(user: TelegramUser, question: Question) -> list[str]:
    texts = {o.text.en for o in question.options}
    assert user.last is not None
    return [b.text for row in user.last.buttons for b in row if b.text in texts]


async def test_residents_see_shuffled_options_and_answers_are_stored_by_id(bot: Harness) -> None:
    content = bot.content
    _, lesson = content.curriculum.lessons()[0]
    question = lesson.quiz[0]
    seen_orders = set()
    for user_id in range(31, 37):
        user = await onboard(bot, user_id)
        await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
        labels = option_labels(user, question)
        assert sorted(labels) == sorted(o.text.en for o in question.options)
        seen_orders.add(tuple(labels))
        # The same screen drawn again (Continue) shows the same order.
        await user.send("/menu")
        await user.press(content.ui["en"].btn_continue)
        assert option_labels(user, question) == labels
        wrong = next(o for o in question.options if not o.correct)
        await user.press(wrong.text.en)
        assert wrong.text.en in user.last.visible
        answers = (await bot.store.privacy.export(resident_id=user_id))["answers"]
        assert [(a["question_id"], a["option_id"], a["correct"]) for a in answers] == [
            (question.id, wrong.id, False)
        ]
    assert len(seen_orders) > 1


async def test_a_press_from_an_old_unshuffled_message_is_judged_by_its_position(
    bot: Harness,
) -> None:
    content = bot.content
    _, lesson = content.curriculum.lessons()[0]
    question = lesson.quiz[0]
    user = await onboard(bot, 41)
    await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
    button = user.last.buttons[0][0]
    action = cb.decode(button.callback_data)
    assert isinstance(action, cb.Answer)
    # Before option ids, the button carried the option's position in content.
    right = question.correct_index
    await user.press_data(f"1:a:{action.attempt_id}:0:{right}", user.last)
    assert content.ui["en"].answer_right in user.last.visible
    answers = (await bot.store.privacy.export(resident_id=41))["answers"]
    assert [(a["option_index"], a["option_id"], a["correct"]) for a in answers] == [
        (right, question.options[right].id, True)
    ]
    # An id that is not one of the question's options is stale, not an error.
    stale = await user.press_data(f"1:a:{action.attempt_id}:0:no-such-option", user.last)
    assert stale.answered


async def test_the_most_chosen_wrong_option_counts_by_id(
    bot: Harness,
) -> None:
    content = bot.content
    _, lesson = content.curriculum.lessons()[0]
    question = lesson.quiz[0]
    wrong = next(o for o in question.options if not o.correct)
    for user_id in range(51, 58):
        user = await onboard(bot, user_id)
        await user.press_data(cb.encode(cb.StartQuiz(lesson.id)))
        await user.press(wrong.text.en)
    async with bot.store.engine.connect() as conn:
        counted = await first_try_wrong_options(conn, [question.id])
    assert counted == {question.id: {wrong.id: 7}}
