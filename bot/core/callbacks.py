"""Button actions and their callback data: short, prefixed, versioned, parsed in one place.

Telegram keeps at most 64 bytes of callback data per button and gives back whatever a client
sends, so ``decode`` treats its input as hostile: anything it does not fully understand is None.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from bot.core.curriculum import ID_PATTERN
from bot.core.i18n import LANGUAGES, Language

VERSION = "1"
MAX_BYTES = 64
_ID = re.compile(ID_PATTERN)
_MAX_NUMBER = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Menu:
    pass


@dataclasses.dataclass(frozen=True)
class Topics:
    pass


@dataclasses.dataclass(frozen=True)
class OpenTopic:
    topic_id: str


@dataclasses.dataclass(frozen=True)
class ShowCard:
    lesson_id: str
    index: int


@dataclasses.dataclass(frozen=True)
class StartQuiz:
    lesson_id: str


@dataclasses.dataclass(frozen=True)
class Answer:
    """A quiz answer. ``option`` is the option's stable id (a str, never only digits); an int
    is the option's position in content, as carried by buttons sent before options had ids
    and were shuffled (still judged by that position)."""

    attempt_id: int
    position: int
    option: int | str


@dataclasses.dataclass(frozen=True)
class CardSources:
    """Who says what a lesson's card says (shown as a new message under the card)."""

    lesson_id: str
    index: int


@dataclasses.dataclass(frozen=True)
class QuestionSources:
    """Who says what a quiz question's explanation says."""

    question_id: str


@dataclasses.dataclass(frozen=True)
class NextQuestion:
    attempt_id: int
    position: int


@dataclasses.dataclass(frozen=True)
class RetryMissed:
    attempt_id: int


@dataclasses.dataclass(frozen=True)
class Continue:
    pass


@dataclasses.dataclass(frozen=True)
class Progress:
    pass


@dataclasses.dataclass(frozen=True)
class Help:
    pass


@dataclasses.dataclass(frozen=True)
class ChooseLanguage:
    pass


@dataclasses.dataclass(frozen=True)
class SetLanguage:
    language: Language


@dataclasses.dataclass(frozen=True)
class Agree:
    pass


@dataclasses.dataclass(frozen=True)
class ForgetConfirm:
    pass


@dataclasses.dataclass(frozen=True)
class ForgetCancel:
    pass


@dataclasses.dataclass(frozen=True)
class StartCheckup:
    pass


@dataclasses.dataclass(frozen=True)
class CheckupAnswer:
    sitting_id: int
    position: int
    option: int


@dataclasses.dataclass(frozen=True)
class CheckupDontKnow:
    sitting_id: int
    position: int


@dataclasses.dataclass(frozen=True)
class ProfileStart:
    pass


@dataclasses.dataclass(frozen=True)
class ProfileAnswer:
    question: int
    option: int


@dataclasses.dataclass(frozen=True)
class ProfileDecline:
    question: int


@dataclasses.dataclass(frozen=True)
class ProfileSkip:
    pass


@dataclasses.dataclass(frozen=True)
class SetAnnouncements:
    """A resident turns administrators' announcements on or off (``edit``: from /settings)."""

    on: bool
    edit: bool


@dataclasses.dataclass(frozen=True)
class NoticeAgree:
    """A consented resident agrees to ``version`` of the privacy notice (what it adds)."""

    version: int


@dataclasses.dataclass(frozen=True)
class NoticeLater:
    version: int


@dataclasses.dataclass(frozen=True)
class NoticeReview:
    """From /settings: show again what is new in the notice."""


@dataclasses.dataclass(frozen=True)
class CheckMessage:
    """The scam-message checker: the resident will send a message to check."""


@dataclasses.dataclass(frozen=True)
class DrillNext:
    """Spot-the-scam drills: show the next drill."""


@dataclasses.dataclass(frozen=True)
class DrillAnswer:
    """An answer to a drill: its position in ``drills.ANSWERS`` (scam, genuine, not sure)."""

    drill_id: str
    answer: int


@dataclasses.dataclass(frozen=True)
class LoanStart:
    """The loan calculator: start (again) from the first question."""


@dataclasses.dataclass(frozen=True)
class LoanChoose:
    """A choice in the loan calculator's session ``session`` at step ``step``."""

    session: int
    step: int
    value: int


@dataclasses.dataclass(frozen=True)
class LoanStop:
    session: int


@dataclasses.dataclass(frozen=True)
class AskOpen:
    """A lesson suggested for a typed question: open it (counted for /stats)."""

    lesson_id: str


@dataclasses.dataclass(frozen=True)
class Scammed:
    """The main menu's "I think I'm being scammed": the urgent advice and the after-fraud
    lesson."""


@dataclasses.dataclass(frozen=True)
class BroadcastSend:
    broadcast_id: int


@dataclasses.dataclass(frozen=True)
class BroadcastCancel:
    broadcast_id: int


Action = (
    Menu
    | Topics
    | OpenTopic
    | ShowCard
    | StartQuiz
    | Answer
    | NextQuestion
    | CardSources
    | QuestionSources
    | RetryMissed
    | Continue
    | Progress
    | Help
    | ChooseLanguage
    | SetLanguage
    | Agree
    | ForgetConfirm
    | ForgetCancel
    | StartCheckup
    | CheckupAnswer
    | CheckupDontKnow
    | ProfileStart
    | ProfileAnswer
    | ProfileDecline
    | ProfileSkip
    | SetAnnouncements
    | NoticeAgree
    | NoticeLater
    | NoticeReview
    | CheckMessage
    | DrillNext
    | DrillAnswer
    | LoanStart
    | LoanChoose
    | LoanStop
    | AskOpen
    | Scammed
    | BroadcastSend
    | BroadcastCancel
)

# One short code per action, and the kinds of its fields in order.
_CODES: dict[type[Action], tuple[str, tuple[str, ...]]] = {
    Menu: ("m", ()),
    Topics: ("t", ()),
    OpenTopic: ("tp", ("id",)),
    ShowCard: ("c", ("id", "int")),
    StartQuiz: ("q", ("id",)),
    Answer: ("a", ("int", "int", "option")),
    NextQuestion: ("n", ("int", "int")),
    CardSources: ("sc", ("id", "int")),
    QuestionSources: ("sq", ("id",)),
    RetryMissed: ("r", ("int",)),
    Continue: ("go", ()),
    Progress: ("p", ()),
    Help: ("h", ()),
    ChooseLanguage: ("lg", ()),
    SetLanguage: ("sl", ("lang",)),
    Agree: ("ok", ()),
    ForgetConfirm: ("fy", ()),
    ForgetCancel: ("fn", ()),
    StartCheckup: ("ck", ()),
    CheckupAnswer: ("ca", ("int", "int", "int")),
    CheckupDontKnow: ("cd", ("int", "int")),
    ProfileStart: ("ps", ()),
    ProfileAnswer: ("pa", ("int", "int")),
    ProfileDecline: ("pn", ("int",)),
    ProfileSkip: ("px", ()),
    SetAnnouncements: ("an", ("flag", "flag")),
    NoticeAgree: ("na", ("int",)),
    NoticeLater: ("nl", ("int",)),
    NoticeReview: ("nr", ()),
    CheckMessage: ("cm", ()),
    DrillNext: ("dn", ()),
    DrillAnswer: ("da", ("id", "int")),
    LoanStart: ("ls", ()),
    LoanChoose: ("lc", ("int", "int", "int")),
    LoanStop: ("lx", ("int",)),
    AskOpen: ("ao", ("id",)),
    Scammed: ("sos", ()),
    BroadcastSend: ("bs", ("int",)),
    BroadcastCancel: ("bx", ("int",)),
}
# Each action's class as a constructor taking its decoded fields in order (checked by _field).
_BY_CODE: dict[str, tuple[Callable[..., Action], tuple[str, ...]]] = {
    code: (cls, kinds) for cls, (code, kinds) in _CODES.items()
}


# Presses that only move around (a card's Next, a topic, a menu): when a resident taps faster
# than they can be answered, a newer one of these may replace one still waiting. Answers,
# consent, settings and anything with an effect worth keeping are not here.
NAVIGATION: tuple[type[Action], ...] = (
    Menu,
    Topics,
    OpenTopic,
    ShowCard,
    Continue,
    Progress,
    Help,
    ChooseLanguage,
)


def is_navigation(action: Action | None) -> bool:
    """Whether a press only navigates (see ``NAVIGATION``); forged or stale data does not."""
    return action is not None and isinstance(action, NAVIGATION)


def encode(action: Action) -> str:
    """The callback data for an action, e.g. ``1:c:pay-codes:2``."""
    code, _ = _CODES[type(action)]
    values = [_raw(getattr(action, f.name)) for f in dataclasses.fields(action)]
    data = ":".join([VERSION, code, *values])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def _raw(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _field(kind: str, raw: str) -> object:
    if kind == "flag":
        if raw not in ("0", "1"):
            raise ValueError(raw)
        return raw == "1"
    if kind == "int":
        if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > _MAX_NUMBER:
            raise ValueError(raw)
        return int(raw)
    if kind == "id":
        if not _ID.match(raw):
            raise ValueError(raw)
        return raw
    if kind == "option":  # digits: a position (old buttons); anything else: an option id
        return _field("int", raw) if raw.isdigit() else _field("id", raw)
    if raw not in LANGUAGES:
        raise ValueError(raw)
    return raw


def decode(data: str | None) -> Action | None:
    """The action a button carries, or None for stale versions, garbage and forgeries."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    version, _, rest = data.partition(":")
    if version != VERSION:
        return None
    code, *raw_values = rest.split(":")
    known = _BY_CODE.get(code)
    if known is None:
        return None
    cls, kinds = known
    if len(raw_values) != len(kinds):
        return None
    try:
        values = [_field(kind, raw) for kind, raw in zip(kinds, raw_values, strict=True)]
    except ValueError:
        return None
    return cls(*values)
