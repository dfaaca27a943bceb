"""Screen builders: pure functions from content, language and state to text and buttons.

They are the single place that decides what a resident sees, so every channel shows the same
thing and the content checker can render every screen without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core import callbacks as cb
from bot.core import consent
from bot.core.assessment import DIMENSIONS, AssessmentItem, SittingScore
from bot.core.content import Content, trusted
from bot.core.curriculum import Lesson, Question, Source, Topic
from bot.core.i18n import Language
from bot.core.progress import (
    LessonStatus,
    ProgressReport,
    QuizResult,
    ResidentState,
    topic_status,
)
from bot.core.replies import Button, Keyboard, Screen


def _mark(content: Content, language: Language, status: LessonStatus) -> str:
    ui = content.ui[language]
    return {
        LessonStatus.DONE: ui.mark_done,
        LessonStatus.STARTED: ui.mark_started,
        LessonStatus.NEW: ui.mark_new,
    }[status]


def _menu_row(content: Content, language: Language) -> tuple[Button, ...]:
    return (Button.of(content.ui[language].btn_menu, cb.Menu()),)


def main_menu(content: Content, language: Language, notice: str | None = None) -> Screen:
    ui = content.ui[language]
    text = content.render("menu.html.j2", language, notice=notice)
    keyboard: Keyboard = (
        (Button.of(ui.btn_lessons, cb.Topics()),),
        (Button.of(ui.btn_continue, cb.Continue()),),
        (Button.of(ui.btn_progress, cb.Progress()),),
        *_checker_row(content, language),
        *_fraud_tools_row(content, language),
        (Button.of(ui.btn_help, cb.Help()), Button.of(ui.btn_language, cb.ChooseLanguage())),
        # Always there, always last (issue 17): help at the worst moment, without typing.
        (Button.of(ui.btn_scammed, cb.Scammed()),),
    )
    return Screen(text, keyboard)


def _checker_row(content: Content, language: Language) -> tuple[tuple[Button, ...], ...]:
    """The scam-message checker's button (issue 16), when content has the red flags."""
    if content.redflags is None:
        return ()
    return ((Button.of(content.redflags.texts[language].btn_check, cb.CheckMessage()),),)


def _fraud_tools_row(content: Content, language: Language) -> tuple[tuple[Button, ...], ...]:
    """The spot-the-scam drills and the loan calculator (issue 16), when content has them."""
    buttons = []
    if content.drills is not None:
        buttons.append(Button.of(content.drills.texts[language].btn_drill, cb.DrillNext()))
    if content.loans is not None:
        buttons.append(Button.of(content.loans.texts[language].btn_loan, cb.LoanStart()))
    return (tuple(buttons),) if buttons else ()


def welcome(content: Content, language: Language, *, name: str, unknown_link: bool) -> Screen:
    ui = content.ui[language]
    text = content.render("welcome.html.j2", language, name=name, unknown_link=unknown_link)
    return Screen(text, _consent_keyboard(content, language, ui.btn_agree))


def consent_needed(content: Content, language: Language) -> Screen:
    text = content.render("privacy.html.j2", language)
    return Screen(text, _consent_keyboard(content, language, content.ui[language].btn_agree))


def _consent_keyboard(content: Content, language: Language, agree: str) -> Keyboard:
    ui = content.ui[language]
    return (
        (Button.of(agree, cb.Agree()),),
        (
            Button.of(ui.btn_lang_zh, cb.SetLanguage("zh")),
            Button.of(ui.btn_lang_en, cb.SetLanguage("en")),
        ),
    )


def topics(content: Content, language: Language, state: ResidentState) -> Screen:
    rows: list[tuple[Button, ...]] = []
    for item in content.curriculum.topics:
        mark = _mark(content, language, topic_status(item, state))
        rows.append((Button.of(f"{mark} {item.title.get(language)}", cb.OpenTopic(item.id)),))
    rows.append(_menu_row(content, language))
    return Screen(content.render("topics.html.j2", language), tuple(rows))


def topic(content: Content, language: Language, topic: Topic, state: ResidentState) -> Screen:
    ui = content.ui[language]
    rows: list[tuple[Button, ...]] = []
    for lesson in topic.lessons:
        mark = _mark(content, language, state.status(lesson.id))
        rows.append((Button.of(f"{mark} {lesson.title.get(language)}", cb.ShowCard(lesson.id, 0)),))
    rows.append((Button.of(ui.btn_topics, cb.Topics()),))
    text = content.render("topic.html.j2", language, topic=topic)
    return Screen(text, tuple(rows))


def card(content: Content, language: Language, topic: Topic, lesson: Lesson, index: int) -> Screen:
    ui = content.ui[language]
    last = index == len(lesson.cards) - 1
    back = cb.ShowCard(lesson.id, index - 1) if index > 0 else cb.OpenTopic(topic.id)
    forward = (
        Button.of(ui.btn_take_quiz, cb.StartQuiz(lesson.id))
        if last
        else Button.of(ui.btn_next, cb.ShowCard(lesson.id, index + 1))
    )
    text = content.render(
        "card.html.j2",
        language,
        lesson=lesson,
        number=index + 1,
        total=len(lesson.cards),
        body=trusted(lesson.cards[index].get(language)),
        last=last,
    )
    keyboard: Keyboard = ((Button.of(ui.btn_back, back), forward), _menu_row(content, language))
    if lesson.sources_of_card(index):
        keyboard = ((Button.of(ui.btn_source, cb.CardSources(lesson.id, index)),), *keyboard)
    return Screen(text, keyboard)


def sources(content: Content, language: Language, found: Sequence[Source]) -> Screen:
    """Who says so: issuing body, document and date of what a card or an explanation says."""
    return Screen(content.render("sources.html.j2", language, sources=found), ())


def question(
    content: Content,
    language: Language,
    lesson: Lesson,
    question: Question,
    *,
    attempt_id: int,
    position: int,
    total: int,
    order: Sequence[int] | None = None,
) -> Screen:
    """A quiz question; ``order`` lists the options' content positions as shown (shuffled)."""
    shown = [question.options[i] for i in (order or range(len(question.options)))]
    rows: list[tuple[Button, ...]] = [
        (Button.of(option.text.get(language), cb.Answer(attempt_id, position, option.id)),)
        for option in shown
    ]
    rows.append(_menu_row(content, language))
    text = content.render(
        "question.html.j2",
        language,
        lesson=lesson,
        number=position + 1,
        total=total,
        prompt=trusted(question.prompt.get(language)),
    )
    return Screen(text, tuple(rows))


def feedback(
    content: Content,
    language: Language,
    question: Question,
    *,
    chosen: int,
    attempt_id: int,
    position: int,
    total: int,
) -> Screen:
    ui = content.ui[language]
    option = question.options[chosen]
    right = question.options[question.correct_index]
    last = position + 1 >= total
    label = ui.btn_see_result if last else ui.btn_next_question
    text = content.render(
        "feedback.html.j2",
        language,
        correct=option.correct,
        chosen=option.text.get(language),
        right=right.text.get(language),
        why_wrong=trusted(option.feedback.get(language)) if option.feedback else None,
        explanation=trusted(question.explanation.get(language)),
    )
    keyboard: Keyboard = ((Button.of(label, cb.NextQuestion(attempt_id, position + 1)),),)
    lesson = content.curriculum.lesson_of(question.id)
    if lesson is not None and lesson.sources_of(question):
        keyboard = (*keyboard, (Button.of(ui.btn_source, cb.QuestionSources(question.id)),))
    return Screen(text, keyboard)


def quiz_result(
    content: Content,
    language: Language,
    lesson: Lesson,
    result: QuizResult,
    *,
    attempt_id: int,
    following: Lesson | None,
) -> Screen:
    ui = content.ui[language]
    missed: list[tuple[str, str]] = []
    for qid in result.missed:
        q = content.curriculum.question(qid)
        if q is not None:
            missed.append((q.prompt.get(language), q.options[q.correct_index].text.get(language)))
    rows: list[tuple[Button, ...]] = []
    if result.missed:
        rows.append((Button.of(ui.btn_retry_missed, cb.RetryMissed(attempt_id)),))
    if following is not None:
        rows.append((Button.of(ui.btn_next_lesson, cb.ShowCard(following.id, 0)),))
    rows.append((Button.of(ui.btn_topics, cb.Topics()),))
    rows.append(_menu_row(content, language))
    text = content.render(
        "quiz_result.html.j2",
        language,
        lesson=lesson,
        result=result,
        missed=[(trusted(p), a) for p, a in missed],
    )
    return Screen(text, tuple(rows))


def progress(content: Content, language: Language, report: ProgressReport) -> Screen:
    ui = content.ui[language]
    text = content.render("progress.html.j2", language, report=report)
    keyboard: Keyboard = (
        (Button.of(ui.btn_lessons, cb.Topics()),),
        (Button.of(ui.btn_checkup, cb.StartCheckup()),),
        _menu_row(content, language),
    )
    return Screen(text, keyboard)


def help_screen(content: Content, language: Language) -> Screen:
    return Screen(content.render("help.html.j2", language), (_menu_row(content, language),))


def language_choice(content: Content, language: Language) -> Screen:
    ui = content.ui[language]
    keyboard: Keyboard = (
        (
            Button.of(ui.btn_lang_zh, cb.SetLanguage("zh")),
            Button.of(ui.btn_lang_en, cb.SetLanguage("en")),
        ),
    )
    return Screen(content.render("notice.html.j2", language, text=ui.language_prompt), keyboard)


def notice_with_menu(content: Content, language: Language, text: str) -> Screen:
    """A short notice (stale button, stray message, error) followed by the main menu."""
    return main_menu(content, language, notice=text)


def plain_notice(content: Content, language: Language, text: str) -> Screen:
    return Screen(content.render("notice.html.j2", language, text=text))


def forget_prompt(content: Content, language: Language) -> Screen:
    ui = content.ui[language]
    keyboard: Keyboard = (
        (Button.of(ui.btn_forget_confirm, cb.ForgetConfirm()),),
        (Button.of(ui.btn_forget_cancel, cb.ForgetCancel()),),
    )
    return Screen(content.render("notice.html.j2", language, text=ui.forget_prompt), keyboard)


def profile_intro(content: Content, language: Language, *, notice: str | None) -> Screen:
    ui = content.ui[language]
    keyboard: Keyboard = (
        (Button.of(ui.btn_profile_start, cb.ProfileStart()),),
        (Button.of(ui.btn_profile_skip, cb.ProfileSkip()),),
    )
    text = content.render(
        "profile.html.j2", language, notice=notice, position=None, text=ui.profile_intro
    )
    return Screen(text, keyboard)


def profile_question(content: Content, language: Language, index: int) -> Screen:
    ui = content.ui[language]
    questions = content.profile.questions
    question = questions[index]
    rows: list[tuple[Button, ...]] = [
        (Button.of(option.text.get(language), cb.ProfileAnswer(index, i)),)
        for i, option in enumerate(question.options)
    ]
    rows.append(
        (
            Button.of(ui.btn_profile_decline, cb.ProfileDecline(index)),
            Button.of(ui.btn_profile_skip, cb.ProfileSkip()),
        )
    )
    position = ui.profile_position.format(number=index + 1, total=len(questions))
    text = content.render(
        "profile.html.j2",
        language,
        notice=None,
        position=position,
        text=question.prompt.get(language),
    )
    return Screen(text, tuple(rows))


def notice_update(
    content: Content,
    language: Language,
    update: consent.Update,
    *,
    notice: str | None = None,
) -> Screen:
    """What a newer privacy notice adds, for a resident who accepted an older one."""
    ui = content.ui[language]
    keyboard: Keyboard = (
        (Button.of(ui.btn_notice_agree, cb.NoticeAgree(update.version)),),
        (Button.of(ui.btn_notice_later, cb.NoticeLater(update.version)),),
    )
    text = content.render("notice_update.html.j2", language, lines=update.lines, notice=notice)
    return Screen(text, keyboard)


def joined(first: Screen, then: Screen) -> Screen:
    """Two screens as one message (one tap, one message): ``then``'s text after ``first``'s,
    its first row of buttons (its main action) above ``first``'s buttons."""
    return Screen(f"{first.text}\n\n{then.text}", (*then.keyboard[:1], *first.keyboard))


def checkup_offer(
    content: Content, language: Language, *, final: bool, notice: str | None = None
) -> Screen:
    ui = content.ui[language]
    instrument = content.assessment
    template = ui.checkup_offer_final if final else ui.checkup_offer_baseline
    offer = template.format(items=len(instrument.items), minutes=instrument.minutes)
    keyboard: Keyboard = (
        (Button.of(ui.btn_checkup_start, cb.StartCheckup()),),
        (Button.of(ui.btn_checkup_skip, cb.Topics()),),
    )
    text = content.render("checkup_offer.html.j2", language, offer=offer, notice=notice)
    return Screen(text, keyboard)


def checkup_item(
    content: Content,
    language: Language,
    item: AssessmentItem,
    *,
    sitting_id: int,
    position: int,
    total: int,
) -> Screen:
    ui = content.ui[language]
    rows: list[tuple[Button, ...]] = [
        (Button.of(option.text.get(language), cb.CheckupAnswer(sitting_id, position, i)),)
        for i, option in enumerate(item.options)
    ]
    if item.offers_dont_know:
        rows.append((Button.of(ui.btn_dont_know, cb.CheckupDontKnow(sitting_id, position)),))
    text = content.render(
        "checkup_item.html.j2",
        language,
        number=position + 1,
        total=total,
        prompt=trusted(item.prompt.get(language)),
    )
    return Screen(text, tuple(rows))


def checkup_result(
    content: Content,
    language: Language,
    score: SittingScore,
    before: Mapping[str, float] | None,
) -> Screen:
    """The resident's own result; ``before`` holds the baseline's shares for a final sitting."""
    ui = content.ui[language]
    names = {
        "knowledge": ui.checkup_dimension_knowledge,
        "behaviour": ui.checkup_dimension_behaviour,
        "attitude": ui.checkup_dimension_attitude,
    }
    lines = []
    for dimension in DIMENSIONS:
        now = round(score.share(dimension) * 100)
        if before is None:
            lines.append(ui.checkup_score_line.format(dimension=names[dimension], percent=now))
        else:
            earlier = round(before[dimension] * 100)
            lines.append(
                ui.checkup_change_line.format(dimension=names[dimension], before=earlier, after=now)
            )
    topics = [t for t in map(content.curriculum.topic, score.study_next) if t is not None][:3]
    rows: list[tuple[Button, ...]] = [
        (Button.of(f"{ui.mark_started} {t.title.get(language)}", cb.OpenTopic(t.id)),)
        for t in topics
    ]
    rows.append((Button.of(ui.btn_lessons, cb.Topics()),))
    rows.append(_menu_row(content, language))
    text = content.render(
        "checkup_result.html.j2",
        language,
        lines=lines,
        dont_know=score.dont_know,
        compared=before is not None,
        study_next=[t.title.get(language) for t in topics],
    )
    return Screen(text, tuple(rows))


def settings_screen(
    content: Content,
    language: Language,
    *,
    on: bool,
    notice: str | None = None,
    news: consent.Update | None = None,
) -> Screen:
    """/settings: whether administrators' announcements reach the resident, and a toggle; and
    what is new in the privacy notice, while the resident has not agreed to it."""
    ui = content.ui[language]
    toggle = (
        Button.of(ui.btn_announcements_off, cb.SetAnnouncements(on=False, edit=True))
        if on
        else Button.of(ui.btn_announcements_on, cb.SetAnnouncements(on=True, edit=True))
    )
    review = ((Button.of(ui.btn_notice_review, cb.NoticeReview()),),) if news else ()
    keyboard: Keyboard = ((toggle,), *review, (Button.of(ui.btn_menu, cb.Menu()),))
    text = content.render("settings.html.j2", language, on=on, notice=notice, news=bool(news))
    return Screen(text, keyboard)


def check_prompt(content: Content, language: Language) -> Screen:
    """The scam-message checker asks for the message to check (content has the red flags)."""
    assert content.redflags is not None
    texts = content.redflags.texts[language]
    text = content.render("notice.html.j2", language, text=texts.prompt)
    return Screen(text, (_menu_row(content, language),))


def check_unreadable(content: Content, language: Language) -> Screen:
    """A picture, voice message or video to check: ask for its words, with the general rule."""
    assert content.redflags is not None
    texts = content.redflags.texts[language]
    text = content.render("check_unreadable.html.j2", language, texts=texts)
    return Screen(text, (_menu_row(content, language),))


def check_result(content: Content, language: Language, flags: Sequence[str]) -> Screen:
    """The checker's answer: each red flag's sentence (``flags``), then the general rule."""
    assert content.redflags is not None
    texts = content.redflags.texts[language]
    text = content.render("check_result.html.j2", language, texts=texts, flags=flags)
    keyboard: Keyboard = (
        (Button.of(texts.btn_check, cb.CheckMessage()),),
        _menu_row(content, language),
    )
    return Screen(text, keyboard)
