"""What every handler of the conversation is given: content, the store, the desks, and the
few answers they share (a stale button, the privacy notice's news)."""

from __future__ import annotations

import dataclasses

from bot.core import consent, screens
from bot.core.admin import AdminDesk
from bot.core.ask.desk import AskDesk
from bot.core.ask.ready import AskerLoader
from bot.core.content import Content
from bot.core.conversation.ports import ConversationStore
from bot.core.fraud.checking import CheckDesk
from bot.core.fraud.drills import DrillDesk
from bot.core.fraud.loan_talk import LoanDesk
from bot.core.i18n import Language, suggest_language
from bot.core.models import Resident
from bot.core.replies import Reply


@dataclasses.dataclass(frozen=True)
class Visitor:
    """Who is talking: a channel's user id, their client's language, and a name to greet.

    The name is only ever used to render the greeting; it is never stored.
    """

    id: int
    language_hint: str | None = None
    name: str = ""


@dataclasses.dataclass(frozen=True)
class Press:
    """A button press being answered: the stored resident and who pressed it."""

    resident: Resident
    visitor: Visitor

    @property
    def language(self) -> Language:
        return self.resident.language


class Conversation:
    """Content, the store and the desks the handlers share; it keeps no state of its own."""

    def __init__(
        self,
        content: Content,
        store: ConversationStore,
        *,
        default_language: Language,
        admin: AdminDesk | None = None,
        asker: AskerLoader | None = None,
    ) -> None:
        self.content = content
        self.store = store
        self.default_language = default_language
        self.admin = admin
        # The fraud tools (issue 16): spot-the-scam drills and the loan calculator.
        self.drills = DrillDesk(content, store.drills)
        self.loans = LoanDesk(content, store.loans)
        # The scam-message checker (issue 16): /check, its button, forwarded messages.
        self.checks = CheckDesk(content, store.checks)
        # Ask in your own words (issue 17): typed questions, built in the background (``asker``;
        # None: typed text is offered the checker and the menu, as before).
        self.asks = AskDesk(content, store.asks, asker)

    def language_for(self, hint: str | None) -> Language:
        return suggest_language(hint, self.default_language)

    async def resident(self, visitor: Visitor) -> Resident:
        """The visitor's stored resident, created on first contact."""
        return await self.store.residents.ensure(
            resident_id=visitor.id, language=self.language_for(visitor.language_hint)
        )

    def stale(self, language: Language) -> Reply:
        """The polite answer to a button that is stale, forged or not this resident's."""
        text = self.content.ui[language].stale_button
        return Reply((screens.notice_with_menu(self.content, language, text),), notice=text)

    def may(self, resident: Resident, processing: str) -> bool:
        """The gate every feature asks: may ``processing`` be done for this resident?"""
        return self.content.privacy.allows(resident.consent_version, processing)

    async def agreement_needed(
        self, resident: Resident, processing: str, *, edit: bool
    ) -> Reply | None:
        """None when ``processing`` may be done for the resident; else the question about what
        the newer notice adds (they agree, or say "not now" and keep learning). Recorded as
        asked, so ``with_news`` does not ask it a second time after this reply."""
        news = None if self.may(resident, processing) else self.news(resident)
        if news is None:
            return None
        await self.store.residents.notice_asked(resident_id=resident.id, version=news.version)
        return Reply((screens.notice_update(self.content, resident.language, news),), edit=edit)

    def news(self, resident: Resident) -> consent.Update | None:
        """What a newer notice adds for this resident, whether or not they were asked."""
        return consent.update_for(
            self.content.privacy,
            resident.language,
            accepted=resident.consent_version,
            asked=None,
        )

    async def with_news(self, resident: Resident, reply: Reply) -> Reply:
        """Ask a resident who accepted an older notice about what is new, once, after the reply."""
        news = consent.update_for(
            self.content.privacy,
            resident.language,
            accepted=resident.consent_version,
            asked=resident.consent_asked,
        )
        if news is None or not await self.store.residents.notice_asked(
            resident_id=resident.id, version=news.version
        ):
            return reply
        question = screens.notice_update(self.content, resident.language, news)
        return dataclasses.replace(reply, screens=(*reply.screens, question))
