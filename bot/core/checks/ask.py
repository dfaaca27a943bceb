"""Content checks for "ask in your own words" (content/ask.yaml): the danger examples read as
they say, the urgent lessons exist, and every synonym group meets the lessons somewhere.

Run by ``finlit content check`` (through ``bot.core.checks``).
"""

from __future__ import annotations

from bot.core.ask.book import ASK_FILE
from bot.core.ask.danger import DangerReader
from bot.core.ask.tokens import Synonyms
from bot.core.content import Content, Problem
from bot.core.fraud.normalise import MAX_CHARS, fold
from bot.core.i18n import LANGUAGES


def check_ask(content: Content) -> list[Problem]:
    """Every problem of ask.yaml that parsing alone cannot see (none when there is no file)."""
    book = content.ask
    if book is None:
        return []
    problems: list[Problem] = []
    reader = DangerReader(book.danger, content.redflags)
    for example in book.danger.urgent_examples:
        if not reader.urgent(example):
            problems.append(
                Problem(ASK_FILE, "danger.urgent_examples", f"{example!r} is not read as urgent")
            )
    for example in book.danger.calm_examples:
        if reader.urgent(example):
            problems.append(
                Problem(ASK_FILE, "danger.calm_examples", f"{example!r} is read as urgent")
            )
    for lesson_id in book.danger.lessons:
        if content.curriculum.lesson(lesson_id) is None:
            problems.append(Problem(ASK_FILE, "danger.lessons", f"no lesson '{lesson_id}'"))
    for flag in book.danger.flags:
        if content.redflags is not None and content.redflags.category(flag) is None:
            problems.append(
                Problem(ASK_FILE, "danger.flags", f"'{flag}' is not a category of redflags.yaml")
            )
    problems += _unmet_synonyms(content)
    return problems


def _unmet_synonyms(content: Content) -> list[Problem]:
    """A group none of whose words the lessons use finds nothing: its first word is the one
    the lessons say."""
    assert content.ask is not None
    texts: list[str] = []
    for _, lesson in content.curriculum.lessons():
        for language in LANGUAGES:
            texts.append(lesson.title.get(language))
            texts.append(lesson.summary.get(language))
            texts += [card.get(language) for card in lesson.cards]
            for question in lesson.quiz:
                texts += [question.prompt.get(language), question.explanation.get(language)]
    synonyms = Synonyms(content.ask.synonyms)
    # In chunks: fold() keeps only the first MAX_CHARS characters of a text.
    chunks: list[str] = []
    for text in texts:
        if chunks and len(chunks[-1]) + len(text) < MAX_CHARS:
            chunks[-1] += "\n" + text
        else:
            chunks.append(text)
    read = "\n".join(synonyms.apply(fold(chunk)) for chunk in chunks)
    return [
        Problem(
            ASK_FILE,
            f"synonyms[{number}]",
            f"no lesson says {group[0]!r} or any of its synonyms: put the lessons' word first",
        )
        for number, group in enumerate(content.ask.synonyms, start=1)
        if group[0] not in read
    ]
