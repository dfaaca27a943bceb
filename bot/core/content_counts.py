"""Counts of what the curriculum holds, per language."""

from __future__ import annotations

from bot.core.content import Content
from bot.core.i18n import LANGUAGES, Language, LocalizedText


def _has(text: LocalizedText | None, language: Language) -> bool:
    return text is not None and bool(text.get(language).strip())


def content_stats(content: Content) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = {}
    for language in LANGUAGES:
        topics = [t for t in content.curriculum.topics if _has(t.title, language)]
        lessons = [lesson for t in topics for lesson in t.lessons if _has(lesson.title, language)]
        questions = [q for lesson in lessons for q in lesson.quiz if _has(q.prompt, language)]
        stats[language] = {
            "topics": len(topics),
            "lessons": len(lessons),
            "cards": sum(sum(_has(c, language) for c in lesson.cards) for lesson in lessons),
            "questions": len(questions),
            "questions_with_source": sum(bool(q.source.strip()) for q in questions),
            "questions_with_reviewed_date": sum(q.reviewed is not None for q in questions),
            "questions_with_feedback": sum(
                all(o.correct or _has(o.feedback, language) for o in q.options) for q in questions
            ),
        }
    return stats
