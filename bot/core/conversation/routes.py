"""Which handler answers each button and each command: one row per action type and command.

Adding a button: an action type in ``bot/core/callbacks.py``, a handler in the module of its
screen family, and one row in ``ACTIONS``. ``tests/core/test_routes.py`` fails when an action
type has no row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, Literal, Protocol, TypeVar

from bot.core import callbacks as cb
from bot.core.conversation import (
    ask,
    broadcasts,
    checkup,
    fraud,
    lessons,
    menu,
    privacy,
    profile,
    quiz,
    settings,
)
from bot.core.conversation.base import Conversation, Press
from bot.core.models import Resident
from bot.core.replies import Reply

A = TypeVar("A", bound=cb.Action)


@dataclasses.dataclass(frozen=True)
class Route(Generic[A]):
    """One row: the action type, its handler, and how the press is gated.

    ``before_consent``: answered for a resident who has not consented yet (else the consent
    screen is). ``news``: the privacy notice's news may follow the reply (not after replies
    that are themselves about consent or the notice).
    """

    kind: type[A]
    handler: Callable[[Conversation, Press, A], Awaitable[Reply]]
    before_consent: bool = False
    news: bool = True

    async def answer(self, conv: Conversation, press: Press, action: cb.Action) -> Reply:
        """Run the handler on ``action``, which must be of this row's type."""
        if not isinstance(action, self.kind):
            raise TypeError(f"{type(action).__name__} routed to {self.kind.__name__}")
        return await self.handler(conv, press, action)


class Row(Protocol):
    """A row of ``ACTIONS`` whatever its action type."""

    @property
    def kind(self) -> type: ...
    @property
    def before_consent(self) -> bool: ...
    @property
    def news(self) -> bool: ...
    async def answer(self, conv: Conversation, press: Press, action: cb.Action) -> Reply: ...


def _row(
    kind: type[A],
    handler: Callable[[Conversation, Press, A], Awaitable[Reply]],
    *,
    before_consent: bool = False,
    news: bool = True,
) -> Row:
    """A row of the table; the handler must take the row's action type."""
    route: Route[A] = Route(kind, handler, before_consent=before_consent, news=news)
    return route


ROWS: tuple[Row, ...] = (
    # Consent and the privacy notice: answered before consent, or about it (no news after).
    _row(cb.Agree, privacy.agree, before_consent=True, news=False),
    _row(cb.SetLanguage, settings.set_language, before_consent=True),
    _row(cb.NoticeAgree, privacy.notice_agree, news=False),
    _row(cb.NoticeLater, privacy.notice_later, news=False),
    _row(cb.NoticeReview, privacy.notice_review, news=False),
    _row(cb.ForgetConfirm, privacy.forget),
    _row(cb.ForgetCancel, privacy.keep),
    # The profile questions after consent.
    _row(cb.ProfileStart, profile.start),
    _row(cb.ProfileAnswer, profile.answer),
    _row(cb.ProfileDecline, profile.decline),
    _row(cb.ProfileSkip, profile.skip),
    # Menu, help, settings.
    _row(cb.Menu, menu.menu),
    _row(cb.Help, menu.help_button),
    _row(cb.ChooseLanguage, settings.choose_language),
    _row(cb.SetAnnouncements, settings.set_announcements),
    # Lessons.
    _row(cb.Topics, lessons.topics),
    _row(cb.OpenTopic, lessons.open_topic),
    _row(cb.ShowCard, lessons.show_card),
    _row(cb.CardSources, lessons.card_sources),
    _row(cb.QuestionSources, lessons.question_sources),
    _row(cb.Continue, lessons.carry_on),
    _row(cb.Progress, lessons.progress),
    # Quizzes.
    _row(cb.StartQuiz, quiz.start),
    _row(cb.Answer, quiz.answer),
    _row(cb.NextQuestion, quiz.next_question),
    _row(cb.RetryMissed, quiz.retry_missed),
    # The check-up.
    _row(cb.StartCheckup, checkup.start),
    _row(cb.CheckupAnswer, checkup.answer),
    _row(cb.CheckupDontKnow, checkup.dont_know),
    # The fraud tools (their desks live in bot.core.fraud).
    _row(cb.CheckMessage, fraud.check_message),
    _row(cb.DrillNext, fraud.drill_next),
    _row(cb.DrillAnswer, fraud.drill_answer),
    _row(cb.LoanStart, fraud.loan_start),
    _row(cb.LoanChoose, fraud.loan_choose),
    _row(cb.LoanStop, fraud.loan_stop),
    # Ask in your own words (issue 17). The urgent advice is given before consent too.
    _row(cb.Scammed, ask.scammed, before_consent=True, news=False),
    _row(cb.AskOpen, ask.open_lesson),
    # Administrators' buttons: checked against the administrators' list, consent or not.
    _row(cb.BroadcastSend, broadcasts.confirm, before_consent=True, news=False),
    _row(cb.BroadcastCancel, broadcasts.confirm, before_consent=True, news=False),
)
# Keyed by the action's class (``type[cb.Action]`` is a union mypy cannot key a generic row by).
ACTIONS: Mapping[type, Row] = {row.kind: row for row in ROWS}

CommandName = Literal[
    "menu",
    "help",
    "progress",
    "checkup",
    "language",
    "mydata",
    "forget",
    "settings",
    "drill",
    "loan",
    "check",
]
CommandHandler = Callable[[Conversation, Resident], Awaitable[Reply]]
COMMANDS: Mapping[CommandName, CommandHandler] = {
    "menu": menu.menu_command,
    "help": menu.help_command,
    "progress": lessons.progress_command,
    "checkup": checkup.command,
    "language": settings.language_command,
    "mydata": privacy.my_data,
    "forget": privacy.forget_command,
    "settings": settings.settings_command,
    "drill": fraud.drill_command,
    "loan": fraud.loan_command,
    "check": fraud.check_command,
}
