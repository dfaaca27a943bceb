"""The scam-message checker as a conversation: ask for a message, check it, answer.

The message is read in memory and forgotten: only which red flags it showed is counted (for
/stats). The reply never quotes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from bot.core import screens
from bot.core.content import Content
from bot.core.fraud.checker import Checker
from bot.core.fraud.routing import CHECK_WAIT
from bot.core.i18n import Language
from bot.core.replies import Reply, Screen


class CheckStore(Protocol):
    """What the checker needs from storage (``bot.store.checker.CheckRecords``)."""

    async def wait_for_message(self, *, resident_id: int) -> None: ...
    async def take_wait(self, *, resident_id: int, within: dt.timedelta) -> bool: ...
    async def count(self, *, categories: Sequence[str]) -> None: ...


class CheckDesk:
    """/check, the "check a message" button, and the answer to a message to check."""

    def __init__(self, content: Content, store: CheckStore) -> None:
        self.content = content
        self.store = store
        self.checker = Checker(content.redflags) if content.redflags is not None else None

    @property
    def available(self) -> bool:
        return self.checker is not None

    async def ask(self, resident_id: int, language: Language, *, edit: bool) -> Reply:
        """/check or the button: the next text the resident sends will be checked."""
        if self.content.redflags is None:
            return Reply((screens.main_menu(self.content, language),), edit=edit)
        await self.store.wait_for_message(resident_id=resident_id)
        return Reply((screens.check_prompt(self.content, language),), edit=edit)

    async def asked(self, resident_id: int) -> bool:
        """Whether the resident's text is the message they asked to check (used up)."""
        if self.checker is None:
            return False
        return await self.store.take_wait(resident_id=resident_id, within=CHECK_WAIT)

    async def check(self, language: Language, text: str) -> Reply:
        """The red flags ``text`` shows, each with what to do, then the general rule."""
        if self.checker is None or self.content.redflags is None:
            return Reply((screens.main_menu(self.content, language),))
        found = self.checker.flags(text)
        await self.store.count(categories=[category.id for category in found])
        flags = [category.sentence(language) for category in found]
        return Reply((screens.check_result(self.content, language, flags),))

    async def unreadable(self, resident_id: int | None, language: Language) -> Reply:
        """A picture, voice message or video to check: ask for its words. ``resident_id``
        (given once they have consented) makes the next text they send the message to check."""
        if self.content.redflags is None:
            return Reply((screens.main_menu(self.content, language),))
        if resident_id is not None:
            await self.store.wait_for_message(resident_id=resident_id)
        return Reply((screens.check_unreadable(self.content, language),))

    def offer(self, language: Language) -> Screen | None:
        """Typed text that is neither a command nor a message to check: offer the checker
        with the menu (until the "ask in your own words" path answers it)."""
        if self.content.redflags is None:
            return None
        offer = self.content.redflags.texts[language].offer
        return screens.notice_with_menu(self.content, language, offer)
