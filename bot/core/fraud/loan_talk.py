"""The loan calculator's conversation (/loan): buttons and typed numbers, one question at a time.

amount received → how repayment works → the figure that kind needs (monthly fee, daily rate,
contract amount, or service fee and when it was asked for) → number of instalments → each
payment (where the lender states it) → who lends → the result. Where the resident is and what
they typed so far is a row in the database (``LoanSessionStore``), never process memory; the
result deletes it, since nothing typed is needed after that. Its screens are in
``bot.core.screens.loans``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any, Protocol

from bot.core import callbacks as cb
from bot.core.content import Content
from bot.core.fraud.loan_book import LoanTexts
from bot.core.fraud.loan_cost import MAX_INSTALMENTS, Kind, Lender
from bot.core.fraud.loan_steps import (
    KINDS,
    LENDERS,
    NUMBER_STEPS,
    STEPS,
    money,
    plain,
    terms_of,
)
from bot.core.i18n import Language
from bot.core.replies import Reply
from bot.core.screens.loans import result_screen, step_screen

# Typed text counts as an answer to the calculator only this long after its last question.
IDLE = dt.timedelta(minutes=30)
MAX_YUAN = 10_000_000
# (lowest, highest) accepted for each typed number; a fee must also be below what was received.
RANGES: dict[str, tuple[float, float]] = {
    "received": (1, MAX_YUAN),
    "monthly_fee": (0, 30),
    "daily_rate": (0, 10),
    "contract": (1, MAX_YUAN),
    "fee": (0.01, MAX_YUAN),
    "instalments": (1, MAX_INSTALMENTS),
    "payment": (0.01, MAX_YUAN),
}


# The port: what the calculator needs from storage.


@dataclasses.dataclass(frozen=True)
class LoanSession:
    id: int  # a random token, new with each /loan: the buttons of its screens carry it
    resident_id: int
    step: str
    answers: dict[str, Any]
    updated_at: dt.datetime


class LoanSessionStore(Protocol):
    async def start(self, *, resident_id: int, step: str) -> LoanSession: ...

    async def get(self, *, resident_id: int) -> LoanSession | None: ...

    async def advance(
        self, *, session: LoanSession, step: str, answers: dict[str, Any]
    ) -> bool: ...

    async def finish(self, *, resident_id: int, session_id: int) -> None: ...


# Typed numbers

_UNITS = re.compile(
    r"(元|块钱|块|人民币|rmb|yuan|cny|¥|%|percent|个月|月|期|months?|instalments?|天|days?)$"
)
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def _texts(content: Content, language: Language) -> LoanTexts:
    assert content.loans is not None
    return content.loans.texts[language]


def parse_number(text: str) -> float | None:
    """A number as residents type it: full-width digits, thousands commas, 1.5%, 9000元, 1万,
    3千, ¥500. None when it is not one number."""
    value = unicodedata.normalize("NFKC", text).strip().lower()
    value = re.sub(r"[\s,，_']", "", value).lstrip("¥￥")
    for _ in range(2):  # "1.5%/月", "12期" ...
        value = _UNITS.sub("", value.rstrip("/每"))
    factor = 1.0
    if value.endswith("万"):
        value, factor = value[:-1], 10_000.0
    elif value.endswith(("千", "k")):
        value, factor = value[:-1], 1_000.0
    if not _NUMBER.match(value):
        return None
    return float(value) * factor


class LoanDesk:
    """The calculator's conversation; every step is stored before its reply is built."""

    def __init__(
        self,
        content: Content,
        store: LoanSessionStore,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.content = content
        self.store = store
        self.clock = clock

    async def start(self, resident_id: int, language: Language, *, edit: bool) -> Reply:
        session = await self.store.start(resident_id=resident_id, step="received")
        texts = _texts(self.content, language)
        screen = step_screen(self.content, language, session.id, "received", notice=texts.title)
        return Reply((screen,), edit=edit)

    async def typed(self, resident_id: int, language: Language, text: str) -> Reply | None:
        """A typed number for the step waiting; None when the calculator waits for nothing (or
        was left idle: text typed much later is not meant for it)."""
        session = await self.store.get(resident_id=resident_id)
        if session is None or self.clock() - session.updated_at > IDLE:
            return None
        texts = _texts(self.content, language)
        number = parse_number(text)
        if session.step not in NUMBER_STEPS:
            # A number typed where a button is wanted ("1" for the first choice): ask again.
            if number is None:
                return None
            return self._ask(language, session, session.step, texts.tap_a_button)
        if number is None:
            return self._ask(language, session, session.step, texts.not_a_number)
        low, high = RANGES[session.step]
        if session.step == "instalments":
            number = float(round(number))
        if not low <= number <= high:
            problem = texts.out_of_range.format(low=plain(low), high=f"{high:,.0f}")
            return self._ask(language, session, session.step, problem)
        return await self._take(session, language, session.step, number)

    async def choose(
        self, resident_id: int, language: Language, action: cb.LoanChoose
    ) -> Reply | None:
        """A button of the calculator; None when it is stale or forged."""
        session = await self.store.get(resident_id=resident_id)
        if session is None or session.id != action.session or not 0 <= action.step < len(STEPS):
            return None
        step = STEPS[action.step]
        if step != session.step:
            # An older question's button (a double press): show the question that is due.
            return dataclasses.replace(self._ask(language, session, session.step, None), edit=True)
        value: Any
        match step:
            case "kind" if 0 <= action.value < len(KINDS):
                value = KINDS[action.value].value
            case "fee_when" if action.value in (0, 1):
                value = action.value == 0
            case "instalments" if 1 <= action.value <= MAX_INSTALMENTS:
                value = action.value
            case "lender" if 0 <= action.value < len(LENDERS):
                value = LENDERS[action.value].value
            case _:
                return None
        reply = await self._take(session, language, step, value)
        return dataclasses.replace(reply, edit=True)

    async def leave(self, resident_id: int) -> None:
        """Close the calculator if it is open, without a word: the resident turned to something
        more urgent (its typed numbers are deleted)."""
        session = await self.store.get(resident_id=resident_id)
        if session is not None:
            await self.store.finish(resident_id=session.resident_id, session_id=session.id)

    async def stop(self, resident_id: int, session_id: int) -> bool:
        """Close the calculator (its typed numbers are deleted); False if it was not open."""
        session = await self.store.get(resident_id=resident_id)
        if session is None or session.id != session_id:
            return False
        await self.store.finish(resident_id=session.resident_id, session_id=session.id)
        return True

    def _ask(
        self, language: Language, session: LoanSession, step: str, notice: str | None
    ) -> Reply:
        return Reply((step_screen(self.content, language, session.id, step, notice=notice),))

    async def _take(self, session: LoanSession, language: Language, step: str, value: Any) -> Reply:
        texts = _texts(self.content, language)
        answers = dict(session.answers)
        name = "fee_before" if step == "fee_when" else step
        answers[name] = value
        # Checks that need earlier answers: re-ask the same question with what is wrong.
        received = float(answers.get("received", 0))
        if step == "contract" and value <= received:
            notice = texts.contract_not_more.format(received=money(received))
            return self._ask(language, session, step, notice)
        if step == "fee" and value >= received:
            return self._ask(
                language, session, step, texts.fee_too_big.format(received=money(received))
            )
        if step == "payment":
            terms = terms_of(answers)
            net = received - terms.fee
            total = terms.payment * terms.instalments
            if total < net:
                notice = texts.payments_too_small.format(total=money(total), net=money(net))
                return self._ask(language, session, step, notice)
        following = _following(step, answers)
        if following is None:
            await self.store.finish(resident_id=session.resident_id, session_id=session.id)
            terms = terms_of(answers)
            screen = result_screen(self.content, language, terms, Lender(answers["lender"]))
            return Reply((screen,))
        if not await self.store.advance(session=session, step=following, answers=answers):
            current = await self.store.get(resident_id=session.resident_id)
            if current is None:
                return Reply()
            return self._ask(language, current, current.step, None)
        return self._ask(language, session, following, None)


def _following(step: str, answers: dict[str, Any]) -> str | None:
    """The question after ``step``; None when everything needed is known."""
    kind = str(answers.get("kind", ""))
    match step:
        case "received":
            return "kind"
        case "kind":
            return {
                Kind.FLAT.value: "monthly_fee",
                Kind.DAILY.value: "daily_rate",
                Kind.UPFRONT.value: "contract",
                Kind.FEE.value: "fee",
            }[kind]
        case "fee":
            return "fee_when"
        case "monthly_fee" | "daily_rate" | "contract" | "fee_when":
            return "instalments"
        case "instalments":
            return "payment" if kind in (Kind.UPFRONT.value, Kind.FEE.value) else "lender"
        case "payment":
            return "lender"
        case _:
            return None
