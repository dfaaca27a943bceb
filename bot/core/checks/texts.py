"""Rules on what authors write: languages, lengths, HTML, placeholders, dated figures, the UI
catalogues, and answers that give themselves away by their length."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator

from bot.core.assessment import Assessment
from bot.core.checks.limits import ASSESSMENT_FILE, BUTTON_COLUMNS
from bot.core.content import Content, Problem
from bot.core.curriculum import Curriculum, Lesson, Topic
from bot.core.html import display_width, html_problems, visible_length, visible_text
from bot.core.i18n import LANGUAGES, Language, LocalizedText
from bot.core.ui import button_keys

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


def check_texts(content: Content) -> list[Problem]:
    """Every text of the topics, the check-up, the profile questions and the UI catalogues."""
    problems: list[Problem] = []
    for topic in content.curriculum.topics:
        problems += _check_texts(content.topic_files[topic.id], _texts(topic))
        problems += _check_card_reading(content.topic_files[topic.id], topic)
        problems += _check_review_dates(content.topic_files[topic.id], topic)
    problems += _check_length_cues(content.curriculum)
    problems += _check_texts(ASSESSMENT_FILE, _assessment_texts(content.assessment))
    problems += _check_texts("profile.yaml", _profile_texts(content))
    problems += _check_ui(content)
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
