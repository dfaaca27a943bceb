"""The render check: every screen a resident can see, rendered from content in each language
and held to Telegram's limits (length, HTML, button width and data).

``every_screen`` is the one walk over the screens built in ``bot.core.screens``; the fraud
tools' screens (drills, the loan calculator) are walked by ``bot.core.checks.fraud`` under
their own files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import jinja2

from bot.core import consent, screens
from bot.core.admin import screens as admin_screens
from bot.core.assessment import score_sitting
from bot.core.callbacks import MAX_BYTES
from bot.core.checks.ask_screens import ask_screens
from bot.core.checks.limits import ASSESSMENT_FILE, BUTTON_COLUMNS, MESSAGE_LIMIT
from bot.core.content import Content, Problem
from bot.core.curriculum import Lesson, Topic
from bot.core.html import display_width, html_problems, visible_length
from bot.core.i18n import LANGUAGES, Language
from bot.core.progress import (
    LessonStatus,
    ProgressReport,
    QuizResult,
    ResidentState,
    progress_report,
)
from bot.core.replies import Screen

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
    """Every screen a resident can see, as (file, location, screen): the place to add screens."""
    yield from (("templates", name, s) for name, s in _static_screens(content, language))
    yield from ((ASSESSMENT_FILE, "items", s) for s in _checkup_screens(content, language))
    for topic, lesson in content.curriculum.lessons():
        file = content.topic_files[topic.id]
        for s in _lesson_screens(content, language, topic, lesson):
            yield file, f"lessons[{lesson.id}]", s
    # The administrators' screens, with sample data (their texts live in the ui files).
    for name, s in admin_screens.samples(content, language):
        yield "templates", name, s


def check_screens(content: Content) -> list[Problem]:
    """Every screen of ``every_screen`` rendered in every language, against Telegram's limits."""
    problems: list[Problem] = []
    for language in LANGUAGES:
        try:
            rendered = list(every_screen(content, language))
        except (jinja2.TemplateError, KeyError, IndexError, ValueError) as exc:
            # A template asking for a missing value, or a placeholder the catalogue lacks.
            problems.append(
                Problem("templates", language, f"cannot render: {type(exc).__name__}: {exc}")
            )
            continue
        for file, location, screen in rendered:
            where = f"{location} ({language})"
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
            problems += [
                Problem(file, where, f"rendered HTML: {p}") for p in html_problems(screen.text)
            ]
            for row in screen.keyboard:
                for button in row:
                    if display_width(button.label) > BUTTON_COLUMNS + 3:  # marks add a little
                        problems.append(
                            Problem(file, where, f"button '{button.label}' is too wide for a phone")
                        )
                    if len(button.data.encode()) > MAX_BYTES:
                        problems.append(Problem(file, where, f"button data over {MAX_BYTES} bytes"))
    return sorted(set(problems))


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
