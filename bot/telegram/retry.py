"""What a failed call to Telegram means, and when to try again: the one place that decides.

Everything that sends to Telegram asks ``classify`` what an error means and ``backoff`` how long
to wait. Callers differ only in the promise they keep about a message, and so in what they may do
with the answer:

* The outbox (``delivery.py``) delivers **at least once**: it retries whatever may not have
  arrived (``Failure.retry_later``), after Telegram's ``retry_after`` for a 429 or after
  ``backoff(attempts)`` otherwise, until ``backoff`` gives up.
* A broadcast (``broadcast.py``) delivers **at most once**: it sends again only what certainly did
  not arrive (``Failure.certainly_unsent``: a 429, or the engine stopping before its turn);
  anything else that failed is recorded as failed.

The kinds, from Telegram's answers as python-telegram-bot raises them:

* ``FLOOD``: 429 ``RetryAfter``, a certain refusal; try again after ``retry_after`` seconds.
* ``BLOCKED``: 403 ``Forbidden``: the resident blocked the bot, or it was removed from the group.
* ``GONE``: the message to edit no longer exists as text (deleted, too old, a photo): send the
  screen as a new message instead.
* ``REFUSED``: any other 400 ``BadRequest``: sending it again cannot succeed; give up.
* ``TRANSIENT``: ``NetworkError`` proper (timeouts, connection errors, every 5xx, an HTML error
  page from a proxy); it may or may not have reached Telegram.
* ``ODD``: any other ``TelegramError`` (an unreadable answer, 401/404/409, a migrated chat):
  retried like a transient error by the outbox, logged loudly by a broadcast.
* ``NOT_SENT``: the delivery engine stopped before the call's turn; nothing left this process.
* ``UNEXPECTED``: not an answer from Telegram at all (a bug, a database error): not this
  policy's business; callers let it go on up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.telegram.lanes import DeliveryStopped

# After this many failed attempts (network errors, 5xx) a queued message is dropped: it is not
# going through, and the chat's later messages must not wait for it forever.
MAX_ATTEMPTS = 8
# The wait after a failed attempt: doubled each time from the first, up to the cap.
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0

# Telegram's answers when an edit cannot apply; the screen is sent as a new message instead.
_EDIT_IMPOSSIBLE = (
    "message to edit not found",
    "message can't be edited",
    "there is no text in the message to edit",
    "message_id_invalid",
)


class Kind(enum.Enum):
    FLOOD = "flood"
    BLOCKED = "blocked"
    GONE = "gone"
    REFUSED = "refused"
    TRANSIENT = "transient"
    ODD = "odd"
    NOT_SENT = "not sent"
    UNEXPECTED = "unexpected"


@dataclasses.dataclass(frozen=True)
class Failure:
    """What a failed call means (see the module doc); ``retry_after`` is a 429's wait."""

    kind: Kind
    retry_after: float = 0.0

    @property
    def certainly_unsent(self) -> bool:
        """Nothing reached the chat: sending again cannot show the message twice."""
        return self.kind in (Kind.FLOOD, Kind.NOT_SENT)

    @property
    def retry_later(self) -> bool:
        """Worth another attempt for a message that must arrive (at least once)."""
        return self.kind in (Kind.FLOOD, Kind.TRANSIENT, Kind.ODD, Kind.NOT_SENT)


def classify(exc: BaseException) -> Failure:
    """What ``exc``, raised by a call to Telegram, means."""
    if isinstance(exc, RetryAfter):
        return Failure(Kind.FLOOD, seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return Failure(Kind.BLOCKED)
    if isinstance(exc, BadRequest):  # a subclass of NetworkError: before it
        reason = exc.message.lower()
        if any(known in reason for known in _EDIT_IMPOSSIBLE):
            return Failure(Kind.GONE)
        return Failure(Kind.REFUSED)
    if isinstance(exc, NetworkError):
        return Failure(Kind.TRANSIENT)
    if isinstance(exc, TelegramError):
        return Failure(Kind.ODD)
    if isinstance(exc, DeliveryStopped):
        return Failure(Kind.NOT_SENT)
    return Failure(Kind.UNEXPECTED)


def backoff(attempts: int) -> float | None:
    """The wait after ``attempts`` failed attempts (0.5 s, 1 s, 2 s … capped at 30 s); None
    once there have been ``MAX_ATTEMPTS``: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(BACKOFF_FIRST * 2.0 ** (attempts - 1), BACKOFF_MAX)


def seconds(retry_after: dt.timedelta | float) -> float:
    """``RetryAfter.retry_after`` is a timedelta with PTB_TIMEDELTA set, else a number."""
    if isinstance(retry_after, dt.timedelta):
        return max(retry_after.total_seconds(), 0.0)
    return max(float(retry_after), 0.0)
