"""Spot-the-scam drills: a realistic message or call, "scam", "genuine" or "not sure", then why.

The drills are data (content/drills.yaml): each message, its verdict, and for a scam every
warning sign in it, quoted from the message with one plain sentence about it; for a genuine
message, why it can be trusted. Each drill belongs to one category of the scam-message
checker's catalogue (plain string ids), so /stats can say per category how well residents
tell scams from genuine messages. A resident's first answer to a drill is what is counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal, Protocol

from bot.core import callbacks as cb
from bot.core.content import Content
from bot.core.fraud.drill_book import Drill, DrillBook, DrillTexts
from bot.core.i18n import Language
from bot.core.metrics import Cell, cell
from bot.core.replies import Button, Keyboard, Reply, Screen

AnswerName = Literal["scam", "genuine", "unsure"]
# The answer buttons, in order; callback data carries the position.
ANSWERS: tuple[AnswerName, ...] = ("scam", "genuine", "unsure")


# The port: what the drills need from storage.


@dataclasses.dataclass(frozen=True)
class RecordedDrill:
    drill_id: str
    answer: str
    correct: bool
    first: bool  # this press made the record (not a repeat or a double press)


class DrillStore(Protocol):
    async def record(
        self, *, resident_id: int, drill_id: str, answer: str, correct: bool
    ) -> RecordedDrill: ...

    async def latest(self, *, resident_id: int) -> str | None: ...


def next_drill(book: DrillBook, latest: str | None) -> tuple[int, Drill]:
    """The drill after the one answered last (in the book's order, round again at the end)."""
    ids = [d.id for d in book.drills]
    index = (ids.index(latest) + 1) % len(ids) if latest in ids else 0
    return index, book.drills[index]


# Screens


def _texts(content: Content, language: Language) -> DrillTexts:
    assert content.drills is not None
    return content.drills.texts[language]


def _kind(texts: DrillTexts, drill: Drill) -> str:
    return {
        "sms": texts.kind_sms,
        "call": texts.kind_call,
        "chat": texts.kind_chat,
        "notice": texts.kind_notice,
    }[drill.kind]


def drill_screen(content: Content, language: Language, index: int, drill: Drill) -> Screen:
    texts = _texts(content, language)
    book = content.drills
    assert book is not None
    ui = content.ui[language]
    labels = (texts.btn_scam, texts.btn_genuine, texts.btn_unsure)
    keyboard: Keyboard = (
        tuple(Button.of(label, cb.DrillAnswer(drill.id, i)) for i, label in enumerate(labels)),
        (Button.of(ui.btn_menu, cb.Menu()),),
    )
    text = content.render(
        "drill.html.j2",
        language,
        texts=texts,
        first=index == 0,
        position=texts.position.format(number=index + 1, total=len(book.drills)),
        kind=_kind(texts, drill),
        message=drill.message.get(language),
    )
    return Screen(text, keyboard)


def feedback_screen(
    content: Content, language: Language, drill: Drill, answer: AnswerName
) -> Screen:
    texts = _texts(content, language)
    book = content.drills
    assert book is not None
    ui = content.ui[language]
    if answer == "unsure":
        judgement = texts.unsure
    else:
        judgement = texts.right if answer == drill.verdict else texts.wrong
    flags = [
        (
            book.category_name(flag.category, language),
            flag.quote.get(language),
            flag.why.get(language),
        )
        for flag in drill.flags
    ]
    keyboard: Keyboard = (
        (Button.of(texts.btn_next_drill, cb.DrillNext()),),
        (Button.of(ui.btn_menu, cb.Menu()),),
    )
    text = content.render(
        "drill_feedback.html.j2",
        language,
        texts=texts,
        judgement=judgement,
        verdict=texts.verdict_scam if drill.verdict == "scam" else texts.verdict_genuine,
        kind=_kind(texts, drill),
        message=drill.message.get(language),
        flags=flags,
        genuine_because=drill.genuine_because.get(language) if drill.genuine_because else None,
    )
    return Screen(text, keyboard)


def all_drill_screens(content: Content, language: Language) -> list[tuple[str, Screen]]:
    """Every screen the drills can produce, for the content check."""
    book = content.drills
    assert book is not None
    found: list[tuple[str, Screen]] = []
    for index, drill in enumerate(book.drills):
        found.append((drill.id, drill_screen(content, language, index, drill)))
        for answer in ANSWERS:
            found.append((drill.id, feedback_screen(content, language, drill, answer)))
    return found


class DrillDesk:
    """The drills' conversation: show the next drill, record an answer, explain it."""

    def __init__(self, content: Content, store: DrillStore) -> None:
        self.content = content
        self.store = store

    async def next(self, resident_id: int, language: Language, *, edit: bool) -> Reply:
        book = self.content.drills
        assert book is not None
        latest = await self.store.latest(resident_id=resident_id)
        index, drill = next_drill(book, latest)
        return Reply((drill_screen(self.content, language, index, drill),), edit=edit)

    async def answer(
        self, resident_id: int, language: Language, drill_id: str, position: int
    ) -> Reply | None:
        """Record a first answer and explain the drill; None for a drill or answer that does
        not exist (a forged or stale button)."""
        book = self.content.drills
        drill = book.drill(drill_id) if book is not None else None
        if drill is None or not 0 <= position < len(ANSWERS):
            return None
        answer = ANSWERS[position]
        await self.store.record(
            resident_id=resident_id,
            drill_id=drill.id,
            answer=answer,
            correct=answer == drill.verdict,
        )
        screen = feedback_screen(self.content, language, drill, answer)
        return Reply((screen,), edit=True)


# /stats: accuracy per category, withheld below the minimum group size


@dataclasses.dataclass(frozen=True)
class CategoryTally:
    residents: int
    answers: int
    right: int


@dataclasses.dataclass(frozen=True)
class CategoryFigures:
    category: str
    residents: Cell
    answers: Cell
    accuracy: Cell


def category_figures(tallies: dict[str, CategoryTally], min_group: int) -> list[CategoryFigures]:
    """Accuracy per category; every figure about fewer than ``min_group`` residents withheld."""
    figures = []
    for category, tally in tallies.items():
        if tally.answers == 0:
            continue
        accuracy = tally.right / tally.answers
        figures.append(
            CategoryFigures(
                category,
                residents=cell(tally.residents, tally.residents, min_group),
                answers=cell(tally.answers, tally.residents, min_group),
                accuracy=cell(accuracy, tally.residents, min_group),
            )
        )
    return figures


def stats_lines(
    content: Content, language: Language, figures: Sequence[CategoryFigures], hidden: str
) -> list[str]:
    """The drills' section of the /stats report."""
    texts = _texts(content, language)
    book = content.drills
    assert book is not None
    lines = ["", texts.stats_heading]
    if not figures:
        return [*lines, texts.stats_none]
    for row in figures:
        lines.append(
            texts.stats_line.format(
                category=book.category_name(row.category, language),
                residents=hidden if row.residents.hidden else f"{row.residents.value:,}",
                answers=hidden if row.answers.hidden else f"{row.answers.value:,}",
                accuracy=hidden
                if row.accuracy.hidden or row.accuracy.value is None
                else f"{row.accuracy.value:.0%}",
            )
        )
    return lines
