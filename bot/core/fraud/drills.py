"""Spot-the-scam drills: a realistic message or call, "scam", "genuine" or "not sure", then why.

The drills are data (content/drills.yaml, ``drill_book``; screens in ``bot.core.screens.drills``):
each message, its verdict, and for a scam every
warning sign in it, quoted from the message with one plain sentence about it; for a genuine
message, why it can be trusted. Each drill belongs to one category of the scam-message
checker's catalogue (plain string ids), so /stats can say per category how well residents
tell scams from genuine messages. A resident's first answer to a drill is what is counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from bot.core.content import Content
from bot.core.fraud.drill_book import Drill, DrillBook
from bot.core.i18n import Language
from bot.core.literacy import Cell, cell
from bot.core.replies import Reply
from bot.core.screens.drills import ANSWERS, drill_screen, feedback_screen

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
    book = content.drills
    assert book is not None
    texts = book.texts[language]
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
