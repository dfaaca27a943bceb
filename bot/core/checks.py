"""Checks across the whole content: ids, languages, lengths, HTML, and every rendered screen."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator, Sequence

import jinja2

from bot.core import screens
from bot.core.assessment import Assessment
from bot.core.callbacks import MAX_BYTES
from bot.core.content import PUBLISHED_FILE, Content, Problem
from bot.core.curriculum import Curriculum, Lesson, Topic
from bot.core.fraud.checks import check_fraud_tools
from bot.core.html import display_width, html_problems, visible_length, visible_text
from bot.core.i18n import LANGUAGES, Language, LocalizedText
from bot.core.progress import LessonStatus, ProgressReport, ResidentState, progress_report
from bot.core.replies import Screen
from bot.core.ui import button_keys

ASSESSMENT_FILE = "assessment.yaml"
MESSAGE_LIMIT = 4096  # Telegram: characters of a message after entity parsing
BUTTON_COLUMNS = 40  # what fits on one button of a phone held upright
# Readability limits an author must keep to (visible characters).
LIMITS = {
    "card": 600,
    "prompt": 300,
    "feedback": 350,
    "explanation": 350,
    "summary": 150,
    "title": 30,
}
ZH_TITLE_LIMIT = 15
# One screen an older reader takes in without scrolling (visible characters, see reading_length).
CARD_READING_LIMITS: dict[Language, int] = {"zh": 160, "en": 500}
# A guesser who picks the longest (or shortest) option must not beat chance by much.
LENGTH_CUE_LIMIT = 0.40
LENGTH_CUE_MIN_QUESTIONS = 20  # below this a share says nothing (test fixtures, a new course)
_CJK = re.compile(r"[\u3400-\u9fff]")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
# Words authors leave behind while drafting; none belongs in a lesson.
_PLACEHOLDER = re.compile(
    r"\b(TODO|TBD|FIXME|XXX|lorem ipsum)\b|待补充|待翻译|待定|占位", re.IGNORECASE
)
# A name long and hostile enough to stress the welcome screen.
_SAMPLE_NAME = "<b>&amp;" + "名" * 60


def check_content(content: Content) -> list[Problem]:
    problems: list[Problem] = []
    for topic in content.curriculum.topics:
        problems += _check_texts(content.topic_files[topic.id], _texts(topic))
        problems += _check_card_reading(content.topic_files[topic.id], topic)
        problems += _check_review_dates(content.topic_files[topic.id], topic)
    problems += _check_length_cues(content.curriculum)
    problems += _check_assessment(content)
    problems += check_checkup_mapping(content.curriculum, content.assessment)
    problems += check_published(content)
    problems += _check_texts(ASSESSMENT_FILE, _assessment_texts(content.assessment))
    problems += _check_texts("profile.yaml", _profile_texts(content))
    problems += _check_ui(content)
    problems += check_fraud_tools(content)
    if not problems:  # rendering is only meaningful on otherwise sound content
        problems += _check_screens(content)
    return problems


def check_ids(parsed: Sequence[tuple[str, Topic]]) -> list[Problem]:
    """Ids must be unique across all files: they name lessons and questions in stored data."""
    seen: dict[str, str] = {}
    problems = []
    for file, topic in parsed:
        items = [("topic", topic.id, "id")]
        for lesson in topic.lessons:
            items.append(("lesson", lesson.id, f"lessons[{lesson.id}].id"))
            items += [
                ("question", q.id, f"lessons[{lesson.id}].quiz[{q.id}].id") for q in lesson.quiz
            ]
        for kind, item_id, location in items:
            key = f"{kind}:{item_id}"
            if key in seen:
                problems.append(
                    Problem(file, location, f"{kind} id '{item_id}' is already used in {seen[key]}")
                )
            else:
                seen[key] = file
    return problems


def _texts(topic: Topic) -> Iterator[tuple[str, str, LocalizedText, bool]]:
    """(location, kind, text, rich) for every text in a topic; rich texts may hold HTML."""
    yield "title", "title", topic.title, False
    yield "summary", "summary", topic.summary, False
    for lesson in topic.lessons:
        at = f"lessons[{lesson.id}]"
        yield f"{at}.title", "title", lesson.title, False
        yield f"{at}.summary", "summary", lesson.summary, False
        for source in lesson.sources:
            yield f"{at}.sources[{source.id}].by", "summary", source.by, False
        for i, card in enumerate(lesson.cards, 1):
            yield f"{at}.cards[{i}]", "card", card, True
        for q in lesson.quiz:
            qat = f"{at}.quiz[{q.id}]"
            yield f"{qat}.prompt", "prompt", q.prompt, True
            yield f"{qat}.explanation", "explanation", q.explanation, True
            for i, option in enumerate(q.options, 1):
                yield f"{qat}.options[{i}].text", "option", option.text, False
                if option.feedback:
                    yield f"{qat}.options[{i}].feedback", "feedback", option.feedback, True


def _assessment_texts(assessment: Assessment) -> Iterator[tuple[str, str, LocalizedText, bool]]:
    for item in assessment.items:
        yield f"items[{item.id}].prompt", "prompt", item.prompt, True
        for i, option in enumerate(item.options, 1):
            yield f"items[{item.id}].options[{i}].text", "option", option.text, False


def _profile_texts(content: Content) -> Iterator[tuple[str, str, LocalizedText, bool]]:
    for question in content.profile.questions:
        yield f"questions[{question.id}].prompt", "prompt", question.prompt, False
        for option in question.options:
            where = f"questions[{question.id}].options[{option.id}].text"
            yield where, "option", option.text, False


def reading_length(text: str) -> int:
    """Visible characters of a text: what a reader sees, counted one per character.

    Markup is excluded (tags removed, entities such as ``&amp;`` count as the one character they
    show); line breaks and the spaces around them are not counted, and a run of spaces counts as
    one. Every other character counts one: a Chinese character, a letter, a digit, a punctuation
    mark, an emoji.
    """
    visible = re.sub(r"\s*\n\s*", "", visible_text(text))
    return len(re.sub(r"[ \t\u3000]+", " ", visible).strip())


def _check_card_reading(file: str, topic: Topic) -> list[Problem]:
    problems = []
    for lesson in topic.lessons:
        for i, card in enumerate(lesson.cards, 1):
            for language in LANGUAGES:
                length = reading_length(card.get(language))
                limit = CARD_READING_LIMITS[language]
                if length > limit:
                    problems.append(
                        Problem(
                            file,
                            f"lessons[{lesson.id}].cards[{i}].{language}",
                            f"too long to read on one screen: {length} visible characters "
                            f"(at most {limit}); split the card within its lesson",
                        )
                    )
    return problems


# A figure dated in the text ("as of 24 February 2026", "截至2026年1月") can change.
_AS_OF = re.compile(r"截至|\bas of\b", re.IGNORECASE)


def _lesson_texts(lesson: Lesson) -> Iterator[str]:
    for card in lesson.cards:
        yield card.zh
        yield card.en
    for q in lesson.quiz:
        for text in (q.prompt, q.explanation, *(o.text for o in q.options)):
            yield text.zh
            yield text.en
        for option in q.options:
            if option.feedback:
                yield option.feedback.zh
                yield option.feedback.en


def _check_review_dates(file: str, topic: Topic) -> list[Problem]:
    """A lesson that dates a figure "as of" must say by when to re-check it."""
    return [
        Problem(
            file,
            f"lessons[{lesson.id}]",
            "dates a figure ('as of' / 截至) but has no review_by: add the date by which to "
            "re-check it against the fact sheet",
        )
        for lesson in topic.lessons
        if lesson.review_by is None and any(_AS_OF.search(t) for t in _lesson_texts(lesson))
    ]


def review_warnings(content: Content, today: dt.date | None = None) -> list[str]:
    """Lessons and questions past their review_by date: warnings, not failures, so a course is
    never taken offline by a calendar; the figures must be re-checked and the date moved on."""
    today = today or dt.date.today()
    warnings = []
    for topic, lesson in content.curriculum.lessons():
        file = content.topic_files[topic.id]
        if lesson.review_by is not None and lesson.review_by < today:
            warnings.append(
                f"{file}: lessons[{lesson.id}]: review_by {lesson.review_by} has passed: "
                "re-check its dated figures against the fact sheet, then move review_by on"
            )
        for q in lesson.quiz:
            if q.review_by is not None and q.review_by < today:
                warnings.append(
                    f"{file}: lessons[{lesson.id}].quiz[{q.id}]: review_by {q.review_by} has "
                    f"passed: re-check it ({q.source}), then move review_by on"
                )
    return warnings


@dataclasses.dataclass(frozen=True)
class LengthCues:
    """How often the correct option stands out by its length, in one language."""

    questions: int
    longest: int  # the correct option is the unique longest
    shortest: int  # the correct option is the unique shortest

    @property
    def longest_share(self) -> float:
        return self.longest / self.questions if self.questions else 0.0

    @property
    def shortest_share(self) -> float:
        return self.shortest / self.questions if self.questions else 0.0


def length_cues(curriculum: Curriculum) -> dict[Language, LengthCues]:
    """Per language, how many questions give the answer away by the correct option's length."""
    cues = {}
    for language in LANGUAGES:
        longest = shortest = total = 0
        for _, lesson in curriculum.lessons():
            for question in lesson.quiz:
                lengths = [reading_length(o.text.get(language)) for o in question.options]
                mine = lengths[question.correct_index]
                others = lengths[: question.correct_index] + lengths[question.correct_index + 1 :]
                total += 1
                longest += mine > max(others)
                shortest += mine < min(others)
        cues[language] = LengthCues(questions=total, longest=longest, shortest=shortest)
    return cues


def _check_length_cues(curriculum: Curriculum) -> list[Problem]:
    problems = []
    for language, cues in length_cues(curriculum).items():
        if cues.questions < LENGTH_CUE_MIN_QUESTIONS:
            continue
        for name, count, share in (
            ("longest", cues.longest, cues.longest_share),
            ("shortest", cues.shortest, cues.shortest_share),
        ):
            if share > LENGTH_CUE_LIMIT:
                problems.append(
                    Problem(
                        "topics/",
                        f"answer keys ({language})",
                        f"the correct option is the unique {name} in {count} of "
                        f"{cues.questions} questions ({share:.0%}, at most "
                        f"{LENGTH_CUE_LIMIT:.0%}): rewrite options so length gives nothing away",
                    )
                )
    return problems


def _check_assessment(content: Content) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for item in content.assessment.items:
        where = f"items[{item.id}]"
        if item.id in seen:
            problems.append(
                Problem(ASSESSMENT_FILE, f"{where}.id", f"item id '{item.id}' is used twice")
            )
        seen.add(item.id)
        if item.topic is not None and content.curriculum.topic(item.topic) is None:
            problems.append(
                Problem(ASSESSMENT_FILE, f"{where}.topic", f"no topic with id '{item.topic}'")
            )
    return problems


def check_checkup_mapping(curriculum: Curriculum, assessment: Assessment) -> list[Problem]:
    """A check-up item's lesson exists, belongs to the item's topic and carries the item's tag."""
    problems = []
    for item in assessment.items:
        if item.lesson is None or item.tag is None:
            continue
        where = f"items[{item.id}]"
        lesson = curriculum.lesson(item.lesson)
        topic = curriculum.topic_of(item.lesson)
        if lesson is None or topic is None:
            problems.append(
                Problem(ASSESSMENT_FILE, f"{where}.lesson", f"no lesson with id '{item.lesson}'")
            )
            continue
        if topic.id != item.topic:
            problems.append(
                Problem(
                    ASSESSMENT_FILE,
                    f"{where}.lesson",
                    f"lesson '{lesson.id}' is in topic '{topic.id}', not in '{item.topic}'",
                )
            )
        if item.tag not in lesson.tags:
            problems.append(
                Problem(
                    ASSESSMENT_FILE,
                    f"{where}.tag",
                    f"lesson '{lesson.id}' does not carry the tag '{item.tag}' "
                    "(add it to its tags)",
                )
            )
    return problems


def check_published(content: Content) -> list[Problem]:
    """No lesson or question id that stored data may name disappears, every id in content is
    recorded as published, and the check-up's items match the fingerprint of its version."""
    published = content.published
    if published is None:
        return []
    curriculum = content.curriculum
    lessons = {lesson.id for _, lesson in curriculum.lessons()}
    questions = {q.id for _, lesson in curriculum.lessons() for q in lesson.quiz}
    problems = []
    for kind, listed, present in (
        ("lesson", published.lessons, lessons),
        ("question", published.questions, questions),
    ):
        for item_id in listed:
            if item_id in present:
                continue
            successor = published.aliases.get(item_id)
            if successor is None:
                problems.append(
                    Problem(
                        PUBLISHED_FILE,
                        f"{kind}s[{item_id}]",
                        f"{kind} '{item_id}' was published and is gone from content/topics: "
                        "stored progress and answers name it. Keep it, or add it to aliases "
                        "with the id of its successor",
                    )
                )
            elif successor not in present:
                problems.append(
                    Problem(
                        PUBLISHED_FILE,
                        f"aliases[{item_id}]",
                        f"the successor '{successor}' is not a {kind} in content/topics",
                    )
                )
        for item_id in sorted(present - set(listed)):
            problems.append(
                Problem(
                    PUBLISHED_FILE,
                    f"{kind}s",
                    f"{kind} '{item_id}' is not listed: add it, so it is never lost later",
                )
            )
    for old in published.aliases:
        if old in lessons or old in questions:
            problems.append(
                Problem(
                    PUBLISHED_FILE,
                    f"aliases[{old}]",
                    f"'{old}' is still in content/topics: an alias is for an id that went away",
                )
            )
    assessment = content.assessment
    recorded = published.checkup_versions.get(assessment.version)
    fingerprint = assessment.fingerprint()
    newest = max(published.checkup_versions, default=0)
    if recorded is None:
        problems.append(
            Problem(
                PUBLISHED_FILE,
                "checkup_versions",
                f"check-up version {assessment.version} is not recorded: add "
                f"'{assessment.version}: {fingerprint}' (a new version is the newest plus one)",
            )
        )
    elif recorded != fingerprint:
        problems.append(
            Problem(
                ASSESSMENT_FILE,
                "version",
                f"the check-up's items changed but its version is still {assessment.version}: "
                f"make it {newest + 1} and add '{newest + 1}: {fingerprint}' to "
                f"{PUBLISHED_FILE} (gains compare sittings of one version only)",
            )
        )
    elif assessment.version != newest:
        problems.append(
            Problem(
                ASSESSMENT_FILE,
                "version",
                f"version {assessment.version} is older than the newest recorded ({newest})",
            )
        )
    return problems


def _check_texts(file: str, texts: Iterator[tuple[str, str, LocalizedText, bool]]) -> list[Problem]:
    problems = []
    for location, kind, text, rich in texts:
        # Figures such as "36.5%" read the same in both languages; words do not.
        if text.zh == text.en and any(ch.isalpha() for ch in text.zh):
            problems.append(Problem(file, location, "zh and en are identical: translate it"))
        for language in LANGUAGES:
            value = text.get(language)
            where = f"{location}.{language}"
            problems += _language_problems(file, where, language, value)
            if rich:
                problems += [Problem(file, where, f"HTML: {p}") for p in html_problems(value)]
            elif _TAG.search(value):
                problems.append(Problem(file, where, "plain text: HTML tags are not allowed here"))
            if kind == "option":
                width = display_width(value)
                if width > BUTTON_COLUMNS:
                    problems.append(
                        Problem(
                            file,
                            where,
                            f"too wide for a phone button: {width} columns "
                            f"(at most {BUTTON_COLUMNS}; a Chinese character counts 2)",
                        )
                    )
                continue
            limit = ZH_TITLE_LIMIT if (kind == "title" and language == "zh") else LIMITS[kind]
            length = visible_length(value)
            if length > limit:
                problems.append(
                    Problem(
                        file, where, f"too long: {length} characters (at most {limit} for a {kind})"
                    )
                )
    return problems


def _language_problems(file: str, where: str, language: Language, value: str) -> list[Problem]:
    if _PLACEHOLDER.search(value) or value.strip(" .。…-?？") == "":
        return [Problem(file, where, "placeholder text: write the real text")]
    letters = [ch for ch in value if ch.isalpha()]
    cjk = sum(bool(_CJK.match(ch)) for ch in letters)
    if language == "zh" and letters and cjk == 0:
        return [Problem(file, where, "Chinese text has no Chinese characters")]
    if language == "en" and letters and cjk * 2 > len(letters):
        return [Problem(file, where, "English text is mostly Chinese: translate it")]
    return []


def _check_ui(content: Content) -> list[Problem]:
    problems = []
    placeholders = {language: content.ui[language].placeholders() for language in LANGUAGES}
    first, *others = LANGUAGES
    for key, names in placeholders[first].items():
        for other in others:
            if placeholders[other].get(key) != names:
                problems.append(
                    Problem(
                        f"ui/{other}.yaml",
                        key,
                        f"placeholders {sorted(placeholders[other].get(key, set()))} "
                        f"differ from ui/{first}.yaml {sorted(names)}",
                    )
                )
    for language in LANGUAGES:
        ui = content.ui[language]
        for key in button_keys():
            width = display_width(getattr(ui, key))
            if width > BUTTON_COLUMNS:
                problems.append(
                    Problem(
                        f"ui/{language}.yaml",
                        key,
                        f"too wide for a phone button: {width} columns (at most {BUTTON_COLUMNS})",
                    )
                )
        menus = (("commands", ui.commands), ("admin.commands", ui.admin.commands))
        for prefix, menu in menus:
            for key, value in menu:
                if not 1 <= len(value) <= 256:  # Telegram's limit for a command description
                    problems.append(
                        Problem(
                            f"ui/{language}.yaml", f"{prefix}.{key}", "must be 1-256 characters"
                        )
                    )
    return problems


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
    for key, value in ui:
        if isinstance(value, str) and not key.startswith(("btn_", "mark_")):
            yield f"notice {key}", screens.notice_with_menu(content, language, value)
    for state in _sample_states(content):
        yield "topics", screens.topics(content, language, state)
        report: ProgressReport = progress_report(content.curriculum, state)
        yield "progress", screens.progress(content, language, report)
        for topic in content.curriculum.topics:
            yield f"topic {topic.id}", screens.topic(content, language, topic, state)


def _check_screens(content: Content) -> list[Problem]:
    problems: list[Problem] = []
    for language in LANGUAGES:
        rendered: list[tuple[str, str, Screen]] = []
        try:
            rendered += [("templates", name, s) for name, s in _static_screens(content, language)]
            rendered += [
                (ASSESSMENT_FILE, "items", s)
                for s in screens.all_screens_for_checkup(content, language)
            ]
            for topic, lesson in content.curriculum.lessons():
                file = content.topic_files[topic.id]
                for s in screens.all_screens_for_lesson(content, language, topic, lesson):
                    rendered.append((file, f"lessons[{lesson.id}]", s))
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
