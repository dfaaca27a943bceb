"""Ask in your own words (issue 17): a typed text is read for danger first, then matched to
lessons.

This module is the seam between the search (``bot.core.ask`` internals: the index, the
segmenter, the synonyms, the danger phrases) and the conversation that shows its answer
(``bot.core.conversation``). Nothing here stores or logs the text: it is read in memory and
forgotten.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from bot.core.i18n import Language


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A lesson that answers the text, with the sentence that made it match."""

    lesson_id: str
    # One line, in the language asked for: the matching sentence from the lesson (a title,
    # summary, card, question or explanation), shortened to fit under a button.
    reason: str


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a typed text gets: urgent advice first when it describes a fraud in progress or
    money already sent, then up to three lessons, best first (none when nothing matched)."""

    urgent: bool
    suggestions: tuple[Suggestion, ...]


class Asker(Protocol):
    """Reads a resident's text. Built once from the content (slow: the segmenter's
    dictionary), then answers in milliseconds."""

    def ask(self, text: str, language: Language) -> Answer: ...
