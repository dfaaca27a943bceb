"""The conversation's entry points: what finlit answers to each thing a resident does.

A channel turns its input into a call here (``start``, ``command``, ``text``, ``press``,
``chatter``) and shows the returned ``Reply``. Everything a resident does is stored before the
reply is built, and nothing here keeps state in memory, so a restart or a second process
carries on the same conversation. Which handler answers a button or a command is
``routes``' table.
"""

from __future__ import annotations

import dataclasses

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.admin import ADMIN_COMMANDS
from bot.core.conversation.base import Conversation, Press, Visitor
from bot.core.conversation.routes import ACTIONS, COMMANDS, CommandName
from bot.core.fraud import routing
from bot.core.i18n import Language
from bot.core.models import Resident
from bot.core.replies import Button, Reply

__all__ = ["Tutor", "Visitor"]


class Tutor(Conversation):
    """The entry points; the handlers they route to are given this same object."""

    async def start(self, visitor: Visitor, payload: str | None = None) -> Reply:
        """/start, optionally with a deep-link payload: a cohort's code joins that cohort."""
        resident = await self.resident(visitor)
        language = resident.language
        ui = self.content.ui[language]
        cohort = await self.store.cohorts.find(code=payload) if payload else None
        unknown_link = bool(payload) and cohort is None
        if not resident.consented:
            if cohort is not None:  # joined once they consent, not before
                await self.store.cohorts.hold_code(resident_id=resident.id, code=cohort.code)
            welcome = screens.welcome(
                self.content, language, name=visitor.name, unknown_link=unknown_link
            )
            return Reply((welcome,))
        greeting = ui.welcome_hello.format(name=visitor.name)
        if cohort is not None:
            await self.store.cohorts.join(resident_id=resident.id, cohort_id=cohort.id)
            greeting += "\n" + ui.cohort_joined.format(name=cohort.name)
        if unknown_link:
            greeting += "\n" + ui.welcome_unknown_link
        reply = Reply((screens.main_menu(self.content, language, notice=greeting),))
        return await self.with_news(resident, reply)

    async def command(self, visitor: Visitor, name: CommandName) -> Reply:
        """A resident's command (``routes.COMMANDS``), once they have consented."""
        resident = await self.resident(visitor)
        if not resident.consented:
            return Reply((screens.consent_needed(self.content, resident.language),))
        return await self.with_news(resident, await COMMANDS[name](self, resident))

    async def text(self, visitor: Visitor, text: str, *, forwarded: bool = False) -> Reply:
        """Anything typed or forwarded in private; where it goes is ``routing.route``'s rule."""
        known: Resident | None = None

        async def asked_to_check() -> bool:
            nonlocal known
            # Read, not created: a text describing a fraud gets urgent advice before consent,
            # and nothing is stored for someone who has not consented (``_typed``).
            known = await self.store.residents.get(resident_id=visitor.id)
            if known is None or not known.consented:
                return False
            known = await self.resident(visitor)  # marks them seen
            return await self.checks.asked(known.id)

        match await routing.route(text, forwarded=forwarded, asked_to_check=asked_to_check):
            case routing.Route.CHECK:
                # Forwarded messages are checked before consent too: nothing about the
                # resident is stored, and this is the moment of danger.
                resident = known or await self.resident(visitor)
                return await self.checks.check(resident.language, text)
            case routing.Route.COMMAND:
                return await self._command_text(visitor, text)
            case routing.Route.TYPED:
                return await self._typed(visitor, known, text)

    async def _command_text(self, visitor: Visitor, text: str) -> Reply:
        """``/start [payload]``, another known command, an administrator's, or an unknown one."""
        # Split at the first whitespace of any kind: "/broadcast" may be followed by a new line.
        word, rest = (*text.strip().split(maxsplit=1), "", "")[:2]
        if word.startswith("/"):
            name = word[1:].split("@", 1)[0].lower()
            if name == "start":
                return await self.start(visitor, rest.strip() or None)
            if (
                name in ADMIN_COMMANDS
                and self.admin is not None
                and self.admin.is_admin(visitor.id)
            ):
                language = await self.language_of(visitor.id, visitor.language_hint)
                return await self.admin.handle(visitor.id, language, name, rest)
            for command in COMMANDS:
                if name == command:
                    if command != "check":  # another command: /check's request lapses
                        await self.checks.asked(visitor.id)
                    return await self.command(visitor, command)
        return await self.chatter(visitor)

    async def _typed(self, visitor: Visitor, resident: Resident | None, text: str) -> Reply:
        """Typed text that is neither a command nor a message to check: ``resident`` is the
        stored one, or None for someone finlit has not met."""
        consented = resident if resident is not None and resident.consented else None
        language = resident.language if resident else self.language_for(visitor.language_hint)
        # Ask in your own words (issue 17): danger first, whoever asks, consent or not, and
        # even while the loan calculator waits for a number.
        answer = await self.asks.read(text, language) if self.asks.available else None
        if consented is not None:
            if answer is not None and answer.urgent:
                # Closed, so what they type next is not taken for the loan's amount.
                await self.loans.leave(consented.id)
                return await self.asks.answer(language, answer)
            # The loan calculator waiting for a number takes typed text as its answer (issue 16).
            typed = await self.loans.typed(consented.id, consented.language, text)
            if typed is not None:
                return typed
        if answer is None:  # no asker: offer the checker and the menu
            offer = self.checks.offer(consented.language) if consented else None
            if consented is not None and offer is not None:
                return await self.with_news(consented, Reply((offer,)))
            return await self.chatter(visitor)
        if consented is None:
            # Nothing stored: the urgent advice, or (as before) the privacy notice first.
            return self.asks.urgent(language) if answer.urgent else await self.chatter(visitor)
        reply = await self.asks.answer(language, answer)
        return reply if answer.urgent else await self.with_news(consented, reply)

    async def chatter(self, visitor: Visitor, *, forwarded: bool = False) -> Reply:
        """Free text, stickers, photos, voice: a friendly pointer to the buttons. A picture,
        voice message or video forwarded (or sent after asking to check a message) cannot be
        read: the resident is asked to type its words, which are then checked."""
        resident = await self.resident(visitor)
        language = resident.language
        # Forwarded is checked before consent too, as a forwarded text is (nothing is stored).
        if forwarded or (resident.consented and await self.checks.asked(resident.id)):
            return await self.checks.unreadable(
                resident.id if resident.consented else None, language
            )
        if not resident.consented:
            return Reply((screens.consent_needed(self.content, language),))
        ui = self.content.ui[language]
        reply = Reply((screens.notice_with_menu(self.content, language, ui.chatter_pointer),))
        return await self.with_news(resident, reply)

    def group_pointer(self, language_hint: str | None, link: str | None = None) -> Reply:
        """In a group the bot only says where it works (with a button to its private chat when
        ``link`` is given); nothing is stored."""
        language = self.language_for(language_hint)
        ui = self.content.ui[language]
        screen = screens.plain_notice(self.content, language, ui.group_pointer)
        if link is not None:
            screen = dataclasses.replace(
                screen, keyboard=((Button.link(ui.btn_private_chat, link),),)
            )
        return Reply((screen,))

    def unchanged_toast(self, language: Language) -> str:
        """A press whose screen is already showing: said on the button, nothing is sent."""
        return self.content.ui[language].press_unchanged

    def received_toast(self, language: Language) -> str:
        """A press whose reply must wait its turn (a busy moment): the tap registered."""
        return self.content.ui[language].press_received

    def one_moment_toast(self, language: Language) -> str:
        return self.content.ui[language].one_moment_toast

    def apology(self, language: Language) -> Reply:
        text = self.content.ui[language].error_apology
        return Reply((screens.notice_with_menu(self.content, language, text),))

    async def prefer_language(self, visitor: Visitor, language: Language) -> None:
        """Set a resident's language outright (a channel's explicit choice, e.g. --lang)."""
        await self.resident(visitor)
        await self.store.residents.set_language(resident_id=visitor.id, language=language)

    async def language_of(self, resident_id: int, hint: str | None) -> Language:
        resident = await self.store.residents.get(resident_id=resident_id)
        return resident.language if resident else self.language_for(hint)

    async def press(self, visitor: Visitor, data: str | None) -> Reply:
        """A button press. Anything stale, forged or not this resident's gets a polite answer."""
        resident = await self.resident(visitor)
        action = cb.decode(data)
        if action is None:
            return self.stale(resident.language)
        route = ACTIONS[type(action)]
        if not resident.consented and not route.before_consent:
            ui = self.content.ui[resident.language]
            return Reply(
                (screens.consent_needed(self.content, resident.language),),
                notice=ui.consent_needed,
            )
        reply = await route.answer(self, Press(resident, visitor), action)
        return await self.with_news(resident, reply) if route.news else reply
