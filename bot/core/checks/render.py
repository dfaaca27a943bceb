"""The render check: every screen a resident or an administrator can see, rendered from content
in each language and held to Telegram's limits (length, HTML, button width and data).

``every_screen`` is the one walk over the screens, the fraud tools' drills and loan calculator
included, each named by the content file an author edits; ``check_screens`` is the one place the
limits are enforced. A new screen is added to the walk, never checked on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import jinja2

from bot.core import consent, screens
from bot.core.admin import screens as admin_screens
from bot.core.assessment import score_sitting
from bot.core.callbacks import MAX_BYTES
from bot.core.checks.ask_screens import ask_screens
from bot.core.checks.limits import ASSESSMENT_FILE, BUTTON_COLUMNS, MESSAGE_LIMIT
from bot.core.content import Content, Problem
from bot.core.curriculum import Lesson, Topic
from bot.core.fraud.drill_book import DRILL_FILE
from bot.core.fraud.loan_book import LOANS_FILE
from bot.core.fraud.loan_cost import Kind, Terms
from bot.core.fraud.loan_steps import LENDERS, STEPS
from bot.core.html import display_width, html_problems, visible_length
from bot.core.i18n import LANGUAGES, Language
from bot.core.progress import (
    LessonStatus,
    ProgressReport,
    QuizResult,
    ResidentState,
    progress_report,
)
from bot.core.replies import Button, Screen
from bot.core.screens.drills import ANSWERS, drill_screen, feedback_screen
from bot.core.screens.loans import result_screen, step_screen

# A part of the walk: (file, location, screen) for each screen it renders.
_Walk = Callable[[], Iterable[tuple[str, str, Screen]]]
# A name long and hostile enough to stress the welcome screen.
_SAMPLE_NAME = "<b>&amp;" + "名" * 60


def _sample_states(content: Content) -> list[ResidentState]:
    lessons = [lesson for _, lesson in content.curriculum.lessons()]
    questions = [q.id for lesson in lessons for q in lesson.quiz]
    return [
        ResidentState(lesson_status={}, latest_correct={}),
        ResidentState(
            lesson_status={lesson.id: LessonStatus.DONE for lesson in lessons},
            latest_correct={qid: True for qid in questions},
        ),
    ]


def _static_screens(content: Content, language: Language) -> Iterator[tuple[str, Screen]]:
    ui = content.ui[language]
    yield "welcome", screens.welcome(content, language, name=_SAMPLE_NAME, unknown_link=True)
    yield "privacy", screens.consent_needed(content, language)
    yield "menu", screens.main_menu(content, language)
    yield "help", screens.help_screen(content, language)
    yield "language", screens.language_choice(content, language)
    yield "forget", screens.forget_prompt(content, language)
    first = content.privacy.versions[0].version  # news for whoever accepted the first notice
    news = consent.update_for(content.privacy, language, accepted=first, asked=None)
    for on in (False, True):
        notice = ui.announcements_turned_on if on else ui.announcements_turned_off
        yield "settings", screens.settings_screen(content, language, on=on, news=news)
        yield "settings", screens.settings_screen(content, language, on=on, notice=notice)
    if content.redflags is not None:
        every_flag = [c.sentence(language) for c in content.redflags.categories]
        yield "check", screens.check_prompt(content, language)
        yield "check", screens.check_result(content, language, [])
        yield "check", screens.check_result(content, language, every_flag)
        yield "check", screens.check_unreadable(content, language)
    yield from ask_screens(content, language)  # typed questions (issue 17)
    for key, value in ui:
        if isinstance(value, str) and not key.startswith(("btn_", "mark_")):
            yield f"notice {key}", screens.notice_with_menu(content, language, value)
    for state in _sample_states(content):
        yield "topics", screens.topics(content, language, state)
        report: ProgressReport = progress_report(content.curriculum, state)
        yield "progress", screens.progress(content, language, report)
        for topic in content.curriculum.topics:
            yield f"topic {topic.id}", screens.topic(content, language, topic, state)


def every_screen(content: Content, language: Language) -> Iterator[tuple[str, str, Screen]]:
    """Every screen a resident or an administrator can see, as (file, location, screen): the
    place to add screens."""
    for _, walk in _walks(content, language):
        yield from walk()


def _walks(content: Content, language: Language) -> Iterator[tuple[str, _Walk]]:
    """The walk in parts, each with the file a failure to render it is reported under."""

    def core() -> Iterator[tuple[str, str, Screen]]:
        yield from (("templates", name, s) for name, s in _static_screens(content, language))
        yield from ((ASSESSMENT_FILE, "items", s) for s in _checkup_screens(content, language))
        for topic, lesson in content.curriculum.lessons():
            file = content.topic_files[topic.id]
            for s in _lesson_screens(content, language, topic, lesson):
                yield file, f"lessons[{lesson.id}]", s
        # The administrators' screens, with sample data (their texts live in the ui files).
        for name, s in admin_screens.samples(content, language):
            yield "templates", name, s

    yield "templates", core
    # The fraud tools' texts are format strings in their own files: a failure is theirs.
    if content.drills is not None:
        yield DRILL_FILE, lambda: _drill_screens(content, language)
    if content.loans is not None:
        yield LOANS_FILE, lambda: _loan_screens(content, language)


def check_screens(content: Content) -> list[Problem]:
    """Every screen of ``every_screen`` rendered in every language, against Telegram's limits."""
    problems: list[Problem] = []
    for language in LANGUAGES:
        for blame, walk in _walks(content, language):
            try:
                rendered = list(walk())
            except (jinja2.TemplateError, KeyError, IndexError, ValueError) as exc:
                # A template asking for a missing value, or a placeholder the catalogue lacks.
                problems.append(
                    Problem(blame, language, f"cannot render: {type(exc).__name__}: {exc}")
                )
                continue
            for file, location, screen in rendered:
                problems += _screen_problems(file, f"{location} ({language})", screen)
    return sorted(set(problems))


def _screen_problems(file: str, where: str, screen: Screen) -> list[Problem]:
    """One rendered screen against Telegram's limits and a phone's width."""
    problems: list[Problem] = []
    length = visible_length(screen.text)
    if length > MESSAGE_LIMIT:
        problems.append(
            Problem(
                file,
                where,
                f"rendered message is {length} characters; Telegram allows {MESSAGE_LIMIT}",
            )
        )
    if not screen.text.strip():
        problems.append(Problem(file, where, "rendered message is empty"))
    problems += [Problem(file, where, f"rendered HTML: {p}") for p in html_problems(screen.text)]
    for row in screen.keyboard:
        problems += [Problem(file, where, p) for p in _row_problems(row)]
    return problems


def _row_problems(row: Sequence[Button]) -> Iterator[str]:
    # Telegram's apps split a row's width evenly between its buttons and cut a label that does
    # not fit its share: the label as shown, marks included, gets its share of a phone's width.
    share = BUTTON_COLUMNS // len(row)
    for button in row:
        width = display_width(button.label)
        if width > share:
            room = "a button" if len(row) == 1 else f"each of {len(row)} buttons in a row"
            yield (
                f"button '{button.label}' is too wide for a phone: {width} columns, at most "
                f"{share} for {room} (a Chinese character or an emoji counts 2)"
            )
        if len(button.data.encode()) > MAX_BYTES:
            yield f"button data over {MAX_BYTES} bytes"


def _drill_screens(content: Content, language: Language) -> Iterator[tuple[str, str, Screen]]:
    """Each drill as asked, and its feedback to every answer."""
    assert content.drills is not None
    for index, drill in enumerate(content.drills.drills):
        where = f"drills[{drill.id}]"
        yield DRILL_FILE, where, drill_screen(content, language, index, drill)
        for answer in ANSWERS:
            yield (
                DRILL_FILE,
                f"{where} answered {answer}",
                feedback_screen(content, language, drill, answer),
            )


# A loan of each kind, from figures that make the longest texts (large sums, every warning).
_SAMPLE_LOANS = (
    Terms(Kind.FLAT, received=10_000, instalments=12, monthly_fee=1),
    Terms(Kind.DAILY, received=5_000_000, instalments=120, daily_rate=0.2),
    Terms(Kind.UPFRONT, received=9_000, instalments=12, contract=10_000, payment=900),
    Terms(Kind.FEE, received=10_000, instalments=12, fee=500, fee_before=True, payment=1_200),
)


def _loan_screens(content: Content, language: Language) -> Iterator[tuple[str, str, Screen]]:
    """Every question of the calculator (with its "not a number" notice), and the result for
    each kind of loan from each kind of lender."""
    assert content.loans is not None
    notice = content.loans.texts[language].not_a_number
    for step in STEPS:
        yield (
            LOANS_FILE,
            f"texts.ask_{step}",
            step_screen(content, language, 2**31 - 1, step, notice=notice),
        )
    for terms in _SAMPLE_LOANS:
        for lender in LENDERS:
            where = f"result: {terms.kind} loan, {lender} lender"
            yield LOANS_FILE, where, result_screen(content, language, terms, lender)


def _checkup_screens(content: Content, language: Language) -> Sequence[Screen]:
    """Every screen the check-up and the profile questions can produce, for the checker."""
    instrument = content.assessment
    total = len(instrument.items)
    found = [screens.checkup_offer(content, language, final=final) for final in (False, True)]
    notice = "\n".join(
        [
            content.ui[language].consent_thanks,
            content.ui[language].cohort_joined.format(name="名" * 128),
        ]
    )
    found.append(screens.profile_intro(content, language, notice=notice))
    for version in content.privacy.versions[:-1]:  # the news since each older version
        news = consent.update_for(
            content.privacy, language, accepted=version.version, asked=version.version
        )
        if news is not None:
            found.append(screens.notice_update(content, language, news, notice=notice))
    questions = range(len(content.profile.questions))
    found += [screens.profile_question(content, language, i) for i in questions]
    found += [
        screens.checkup_item(content, language, item, sitting_id=2**31 - 1, position=i, total=total)
        for i, item in enumerate(instrument.items)
    ]
    ids = [item.id for item in instrument.items]
    nothing = score_sitting(instrument, ids, dict.fromkeys(ids))
    best: dict[str, int | None] = {}
    for item in instrument.items:
        points = [option.points for option in item.options]
        best[item.id] = points.index(max(points))
    everything = score_sitting(instrument, ids, best)
    found.append(screens.checkup_result(content, language, nothing, None))
    found.append(screens.checkup_result(content, language, everything, nothing.shares()))
    return found


def _lesson_screens(
    content: Content, language: Language, topic: Topic, lesson: Lesson
) -> Sequence[Screen]:
    """Every screen a lesson can produce, for the content checker."""
    found = [screens.card(content, language, topic, lesson, i) for i in range(len(lesson.cards))]
    if lesson.sources:
        found.append(screens.sources(content, language, lesson.sources))
    total = len(lesson.quiz)
    for position, q in enumerate(lesson.quiz):
        found.append(
            screens.question(
                content, language, lesson, q, attempt_id=2**31 - 1, position=position, total=total
            )
        )
        for chosen in range(len(q.options)):
            found.append(
                screens.feedback(
                    content,
                    language,
                    q,
                    chosen=chosen,
                    attempt_id=2**31 - 1,
                    position=position,
                    total=total,
                )
            )
    everything_missed = QuizResult(total=total, right=0, missed=tuple(q.id for q in lesson.quiz))
    found.append(
        screens.quiz_result(
            content, language, lesson, everything_missed, attempt_id=2**31 - 1, following=lesson
        )
    )
    return found
