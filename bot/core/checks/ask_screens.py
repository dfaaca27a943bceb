"""Content checks of "ask in your own words" (issue 17): the after-fraud lesson is unambiguous,
and the answers' screens, with sample reasons, for the render check's walk."""

from __future__ import annotations

from collections.abc import Iterator

from bot.core.ask.desk import AFTER_FRAUD_TAG
from bot.core.content import Content, Problem
from bot.core.i18n import Language
from bot.core.replies import Screen
from bot.core.screens import ask


def check_after_fraud(content: Content) -> list[Problem]:
    """At most one lesson is the one the urgent advice leads to."""
    tagged = [
        (topic, lesson)
        for topic, lesson in content.curriculum.lessons()
        if AFTER_FRAUD_TAG in lesson.tags
    ]
    return [
        Problem(
            content.topic_files[topic.id],
            f"lessons[{lesson.id}]",
            f"tag '{AFTER_FRAUD_TAG}' is on {len(tagged)} lessons; the urgent advice needs one",
        )
        for topic, lesson in tagged[1:]
    ]


def ask_screens(content: Content, language: Language) -> Iterator[tuple[str, Screen]]:
    """The urgent advice, nothing found, and every lesson suggested (three at a time, each with
    the longest reason a search may give: its summary, cut to one line)."""
    yield "ask urgent", ask.urgent(content, language)
    yield "ask nothing found", ask.nothing_found(content, language)
    lessons = [lesson for _, lesson in content.curriculum.lessons()]
    for start in range(0, len(lessons), 3):
        group = [
            (lesson, lesson.summary.get(language) * 3) for lesson in lessons[start : start + 3]
        ]
        yield "ask found", ask.found(content, language, group)
