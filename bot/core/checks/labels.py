"""Answer buttons short enough to read at a glance: a warning with a count, never a failure
(the hard limit is what fits on a phone button, checked in ``texts``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from bot.core.checks.limits import ASSESSMENT_FILE
from bot.core.content import Content
from bot.core.html import visible_length
from bot.core.i18n import LANGUAGES, Language, LocalizedText

# Aim for labels under this many characters; the explanation carries the detail. A Chinese
# character takes two columns on a button, so 15 of them are as wide as 30 Latin letters.
LABEL_AIMS: dict[Language, int] = {"en": 30, "zh": 15}
SHOWN = 5  # the longest labels named in each warning


@dataclasses.dataclass(frozen=True)
class Label:
    file: str
    location: str
    text: LocalizedText


def labels(content: Content) -> Iterator[Label]:
    """Every answer button authors write: quiz options, check-up options, profile options."""
    for topic, lesson in content.curriculum.lessons():
        file = content.topic_files[topic.id]
        for question in lesson.quiz:
            for option in question.options:
                where = f"lessons[{lesson.id}].quiz[{question.id}].options[{option.id}]"
                yield Label(file, where, option.text)
    for item in content.assessment.items:
        for i, choice in enumerate(item.options, 1):
            yield Label(ASSESSMENT_FILE, f"items[{item.id}].options[{i}]", choice.text)
    for profile_question in content.profile.questions:
        for answer in profile_question.options:
            where = f"questions[{profile_question.id}].options[{answer.id}]"
            yield Label("profile.yaml", where, answer.text)


def long_labels(content: Content, language: Language) -> list[tuple[int, Label]]:
    """The labels at or over the aim in one language, longest first."""
    aim = LABEL_AIMS[language]
    found = [(visible_length(label.text.get(language)), label) for label in labels(content)]
    return sorted(
        ((length, label) for length, label in found if length >= aim),
        key=lambda pair: (-pair[0], pair[1].file, pair[1].location),
    )


def label_warnings(content: Content) -> list[str]:
    """One warning per language with labels at or over the aim: how many, and the longest."""
    total = sum(1 for _ in labels(content))
    warnings = []
    for language in LANGUAGES:
        long = long_labels(content, language)
        if not long:
            continue
        worst = "; ".join(
            f"{label.file}: {label.location}.{language} ({length})"
            for length, label in long[:SHOWN]
        )
        warnings.append(
            f"{len(long)} of {total} answer labels ({language}) are {LABEL_AIMS[language]} "
            f"characters or longer (aim for under {LABEL_AIMS[language]}; the explanation "
            f"carries the detail). Longest: {worst}"
        )
    return warnings
