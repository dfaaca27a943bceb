"""Ask in your own words as a conversation: read a typed text, answer with urgent advice first
when it describes a fraud in progress, else with the lessons found, else with a kind line.

The text is read in memory and forgotten: only how it was answered is counted (for /stats), and
only for residents who consented. The reply never quotes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.core.ask import Answer
from bot.core.ask.ready import AskerLoader
from bot.core.content import Content
from bot.core.curriculum import Lesson, Topic
from bot.core.i18n import Language
from bot.core.replies import Reply
from bot.core.screens import ask as screens
from bot.core.screens import card

# The lesson on what to do after being cheated carries this tag in content/topics (one lesson
# at most; `finlit content check` says so). Its first card follows the urgent advice.
AFTER_FRAUD_TAG = "after-fraud"

# What /stats counts (bot.store.asked): typed texts read, and how each was answered; urgent
# advice from the menu's button; suggested lessons opened; the topic of each best suggestion.
ASKED = "asked"
LESSON = "lesson"
NOTHING = "nothing"
URGENT = "urgent"
BUTTON = "button"
OPENED = "opened"
TOPIC = "topic:"


class AskStore(Protocol):
    """What the desk needs from storage (``bot.store.asked.AskRecords``)."""

    async def count(self, *, tallies: Sequence[str]) -> None: ...


def after_fraud_lesson(content: Content) -> tuple[Topic, Lesson] | None:
    """The lesson tagged ``AFTER_FRAUD_TAG``, with its topic (None when content has none)."""
    return next(
        (
            (t, lesson)
            for t, lesson in content.curriculum.lessons()
            if AFTER_FRAUD_TAG in lesson.tags
        ),
        None,
    )


class AskDesk:
    """Typed questions and the "I think I'm being scammed" button."""

    def __init__(self, content: Content, store: AskStore, loader: AskerLoader | None) -> None:
        self.content = content
        self.store = store
        self.loader = loader

    @property
    def available(self) -> bool:
        return self.loader is not None

    async def ready(self) -> None:
        """Wait until the asker is built (at once when it is, or when there is none)."""
        if self.loader is not None:
            try:
                await self.loader.asker()
            except Exception:  # a failed build fails the question itself (an apology), in ``read``
                return

    async def read(self, text: str, language: Language) -> Answer:
        """What ``text`` gets (waits for the asker while it is still being built)."""
        if self.loader is None:
            return Answer(urgent=False, suggestions=())
        asker = await self.loader.asker()
        return asker.ask(text, language)

    def urgent(self, language: Language) -> Reply:
        """The urgent advice as the first message, then the after-fraud lesson's first card.
        Stores nothing, so it is given before consent too."""
        found = after_fraud_lesson(self.content)
        first = screens.urgent(self.content, language)
        if found is None:
            return Reply((first,))
        topic, lesson = found
        return Reply((first, card(self.content, language, topic, lesson, 0)))

    async def answer(self, language: Language, answer: Answer) -> Reply:
        """A consented resident's typed question answered, and counted."""
        if answer.urgent:
            await self.store.count(tallies=[ASKED, URGENT])
            return self.urgent(language)
        lessons: list[tuple[Topic, Lesson, str]] = []
        for suggestion in answer.suggestions:
            lesson = self.content.curriculum.lesson(suggestion.lesson_id)
            topic = self.content.curriculum.topic_of(suggestion.lesson_id)
            if lesson is None or topic is None or any(lesson is seen for _, seen, _ in lessons):
                continue  # a lesson the content no longer has, or one suggested twice
            lessons.append((topic, lesson, suggestion.reason))
        if not lessons:
            await self.store.count(tallies=[ASKED, NOTHING])
            return Reply((screens.nothing_found(self.content, language),))
        await self.store.count(tallies=[ASKED, LESSON, TOPIC + lessons[0][0].id])
        shown = [(lesson, reason) for _, lesson, reason in lessons[:3]]
        return Reply((screens.found(self.content, language, shown),))

    async def scammed(self, language: Language) -> Reply:
        """The menu's button: the urgent advice and the lesson, as new messages (they notify)."""
        await self.store.count(tallies=[BUTTON])
        return self.urgent(language)

    async def opened(self) -> None:
        """A suggested lesson was opened."""
        await self.store.count(tallies=[OPENED])
