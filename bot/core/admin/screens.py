"""Every screen administrators see, and the broadcast as residents receive it.

``samples`` yields each of them with sample data, so the render check sees admin screens as it
sees residents' ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.admin.figures import Figures
from bot.core.admin.ports import NOT_GIVEN, ItemTally
from bot.core.admin.report_text import item_rows, report_lines
from bot.core.ask.report import ask_lines
from bot.core.content import Content
from bot.core.fraud.check_report import check_lines
from bot.core.fraud.drill_report import drill_lines
from bot.core.fraud.drills import CategoryTally
from bot.core.i18n import Language
from bot.core.literacy import (
    AssessmentCounts,
    BreakdownCounts,
    LessonCounts,
    QuestionCounts,
    ReachCounts,
    ScopeCounts,
    SittingPairs,
    build_report,
    suppress_partition,
)
from bot.core.models import Broadcast, Cohort
from bot.core.replies import Button, Keyboard, Screen

# Telegram's limit for a message, in UTF-16 code units of the visible text.
MESSAGE_LIMIT = 4096
# /items: a page holds at most this many lines, and fewer when they would pass MESSAGE_LIMIT.
ITEM_LINES_PER_PAGE = 30


def notice(content: Content, language: Language, text: str) -> Screen:
    """A plain message to the administrator (a refusal, a usage hint, a confirmation)."""
    return screens.plain_notice(content, language, text)


def cohort_created(content: Content, language: Language, *, name: str, link: str) -> Screen:
    texts = content.ui[language].admin
    return notice(content, language, texts.cohort_created.format(name=name, link=link))


def cohorts_list(
    content: Content, language: Language, cohorts: Sequence[Cohort], *, min_group: int
) -> Screen:
    """Every cohort with its size (withheld below k) and its code."""
    texts = content.ui[language].admin
    if not cohorts:
        return notice(content, language, texts.cohorts_empty)
    shown = Figures(texts, min_group)
    lines = [texts.cohorts_title]
    for cohort in cohorts:
        lines.append(
            texts.cohorts_line.format(
                name=cohort.name, members=shown.size(cohort.members), code=cohort.code
            )
        )
    return notice(content, language, "\n".join(lines))


def stats_page(content: Content, language: Language, lines: Sequence[str]) -> Screen:
    return notice(content, language, "\n".join(lines))


def item_pages(
    content: Content, language: Language, heading: str, rows: Sequence[Mapping[str, str]]
) -> tuple[Screen, ...]:
    """The item analysis, a page per ``ITEM_LINES_PER_PAGE`` lines or ``MESSAGE_LIMIT``."""
    texts = content.ui[language].admin
    if not rows:
        return (notice(content, language, f"{heading}\n{texts.items_none}"),)
    pages: list[list[str]] = [[]]
    size = 0
    for line in (heading, *(texts.items_line.format(**row) for row in rows)):
        length = len(line.encode("utf-16-le")) // 2 + 1  # and its line break
        page = pages[-1]
        # English lines run to 200 characters: 30 of them would pass Telegram's limit.
        if page and (len(page) == ITEM_LINES_PER_PAGE or size + length > MESSAGE_LIMIT):
            page = []
            pages.append(page)
            size = 0
        page.append(line)
        size += length
    return tuple(notice(content, language, "\n".join(page)) for page in pages)


def broadcast_message(
    content: Content, language: Language, text: str, *, keyboard: Keyboard | None = None
) -> Screen:
    """The announcement as a resident in ``language`` receives it (the text escaped)."""
    if keyboard is None:
        ui = content.ui[language]
        stop = cb.SetAnnouncements(on=False, edit=False)
        keyboard = ((Button.of(ui.btn_stop_announcements, stop),),)
    return Screen(content.render("broadcast.html.j2", language, text=text), keyboard)


def broadcast_preview(
    content: Content, language: Language, *, text: str, scope: str, audience: str, draft_id: int
) -> tuple[Screen, Screen]:
    """Who it will go to, then the announcement itself under [Send] [Cancel]."""
    texts = content.ui[language].admin
    buttons = (
        (
            Button.of(texts.btn_broadcast_send, cb.BroadcastSend(draft_id)),
            Button.of(texts.btn_broadcast_cancel, cb.BroadcastCancel(draft_id)),
        ),
    )
    preview = texts.broadcast_preview.format(scope=scope, count=audience)
    return (
        notice(content, language, preview),
        broadcast_message(content, language, text, keyboard=buttons),
    )


def broadcast_started(
    content: Content, language: Language, broadcast: Broadcast, *, min_group: int, every: int
) -> Screen:
    texts = content.ui[language].admin
    text = texts.broadcast_started.format(
        id=broadcast.id,
        count=Figures(texts, min_group).size(broadcast.recipients),
        every=every,
    )
    return notice(content, language, text)


def broadcast_report(
    content: Content, language: Language, broadcast: Broadcast, *, final: bool, min_group: int
) -> Screen:
    """Progress (sent / failed / blocked / remaining), or the final figures."""
    texts = content.ui[language].admin
    template = texts.broadcast_done if final else texts.broadcast_progress
    # The parts add up to the recipients: one part withheld alone could be worked out by
    # subtraction, so a second one is withheld with it (as for /stats breakdowns).
    parts = suppress_partition(
        {
            "sent": broadcast.sent,
            "failed": broadcast.failed,
            "blocked": broadcast.blocked,
            "skipped": broadcast.skipped,
            "remaining": broadcast.remaining,
        },
        min_group,
    )
    shown = Figures(texts, min_group)
    text = template.format(
        id=broadcast.id,
        recipients=shown.size(broadcast.recipients),
        **{name: shown.count(value) for name, value in parts.items()},
    )
    return notice(content, language, text)


# Sample data for the render check: every admin screen, filled as a busy province would fill it.

_K = 5


def _sample_counts(content: Content) -> ScopeCounts:
    lessons = [lesson for _, lesson in content.curriculum.lessons()]
    questions = [(lesson.id, q.id) for lesson in lessons for q in lesson.quiz]
    pairs = SittingPairs(40, 20.0, 30, 21.0, 30, 3.0, 28, 5.6, 12)
    return ScopeCounts(
        reach=ReachCounts(123_456, 120_000, 4_321, 54_321, 3),
        lessons=[LessonCounts(lesson.id, 1_200, 900) for lesson in lessons],
        questions=[QuestionCounts(q, lesson, 1_000, 610, 850) for lesson, q in questions],
        lessons_per_active={0: 10, 3: 40, 12: 20},
        assessment=AssessmentCounts(
            dimensions={name: pairs for name in ("knowledge", "behaviour", "attitude")},
            knowledge_answers=900,
            dont_know_answers=45,
            residents_answering=40,
        ),
        breakdowns=[
            BreakdownCounts(
                question=question.id,
                residents={
                    **{option.id: 40 for option in question.options},
                    NOT_GIVEN: 3,
                },
                lessons_done={option.id: 120 for option in question.options},
            )
            for question in content.profile.questions
            if question.id in ("age_band", "resident_type")
        ],
    )


def samples(content: Content, language: Language) -> Iterator[tuple[str, Screen]]:
    """Each admin screen, named, with sample data (what the render check walks)."""
    texts = content.ui[language].admin
    name = "Lecture hall 3 · 2026-11-26"
    yield "admin cohort usage", notice(content, language, texts.cohort_usage)
    link = "https://t.me/finlit_bot?start=abcdefgh23"
    yield "admin cohort created", cohort_created(content, language, name=name, link=link)
    yield "admin cohorts empty", cohorts_list(content, language, (), min_group=_K)
    cohorts = [Cohort(i, f"code{i:06d}", f"{name} #{i}", i * 7) for i in range(1, 11)]
    yield "admin cohorts", cohorts_list(content, language, cohorts, min_group=_K)
    yield "admin unknown cohort", notice(content, language, texts.unknown_cohort.format(name=name))
    for key in ("cohort_too_small", "cohort_too_close", "export_too_few"):
        text = getattr(texts, key).format(name=name, other=texts.scope_all, scope=name, k=_K)
        yield f"admin {key}", notice(content, language, text)
    report = build_report(
        name,
        _sample_counts(content),
        {t.id: [lesson.id for lesson in t.lessons] for t in content.curriculum.topics},
        min_group=_K,
    )
    lines = report_lines(content, language, report, min_group=_K)
    # The drills' and the checker's sections go before the closing note, as in /stats.
    if content.drills is not None:
        drilled = {name: CategoryTally(40, 120, 90) for name in content.drills.by_category()}
        lines[-2:-2] = drill_lines(content, language, drilled, min_group=_K)
    if content.redflags is not None:
        counts = {category.id: 700 for category in content.redflags.categories}
        lines[-2:-2] = check_lines(content, language, {"checked": 9_000, **counts}, min_group=_K)
    yield "admin stats", stats_page(content, language, lines)
    asked = {"asked": 9_000, "lesson": 6_000, "nothing": 2_000, "urgent": 1_000, "opened": 4_000}
    asked |= {"button": 3, **{f"topic:{t.id}": 400 for t in content.curriculum.topics}}
    yield (
        "admin stats asks",
        stats_page(content, language, ask_lines(content, language, asked, min_group=_K)),
    )
    yield (
        "admin stats asks by cohort",
        stats_page(content, language, ask_lines(content, language, None, min_group=_K)),
    )
    topics = ", ".join(t.id for t in content.curriculum.topics)
    yield (
        "admin unknown topic",
        notice(content, language, texts.unknown_topic.format(topics=topics)),
    )
    questions = [q for _, lesson in content.curriculum.lessons() for q in lesson.quiz]
    tallies = {
        q.id: ItemTally(40 + i % 3, 25, 70, {o.id: 9 for o in q.options})
        for i, q in enumerate(questions)
    }
    tallies[questions[0].id] = ItemTally(3, 1, 3, {})  # a question too few answered: withheld
    heading = texts.items_title.format(topic="")
    rows = item_rows(content, language, questions, tallies, min_group=_K)
    for number, page in enumerate(item_pages(content, language, heading, rows), start=1):
        yield f"admin items page {number}", page
    yield "admin items none", item_pages(content, language, heading, ())[0]
    yield "admin export needs key", notice(content, language, texts.export_needs_key)
    too_large = texts.export_too_large.format(scope=texts.scope_all, parts=10, megabytes=45)
    yield "admin export too large", notice(content, language, too_large)
    for key in ("broadcast_usage", "broadcast_cancelled", "broadcast_already"):
        yield f"admin {key}", notice(content, language, getattr(texts, key))
    too_long = texts.broadcast_too_long.format(limit=MESSAGE_LIMIT)
    yield "admin broadcast too long", notice(content, language, too_long)
    nobody = texts.broadcast_nobody.format(scope=name)
    yield "admin broadcast nobody", notice(content, language, nobody)
    announcement = "The lecture on <pension scams> moves to Friday, 14:00 & room 3."
    audience = Figures(texts, _K).size(1_234)
    who, what = broadcast_preview(
        content, language, text=announcement, scope=name, audience=audience, draft_id=42
    )
    yield "admin broadcast preview", who
    yield "admin broadcast preview message", what
    yield "broadcast message", broadcast_message(content, language, announcement)
    sending = Broadcast(42, 900, None, announcement, "sending", 1_234, 1_000, 3, 12, 2)
    yield (
        "admin broadcast started",
        broadcast_started(content, language, sending, min_group=_K, every=200),
    )
    yield (
        "admin broadcast progress",
        broadcast_report(content, language, sending, final=False, min_group=_K),
    )
    done = dataclasses.replace(sending, status="done", sent=1_217)
    yield (
        "admin broadcast done",
        broadcast_report(content, language, done, final=True, min_group=_K),
    )
