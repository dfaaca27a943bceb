"""The one retry policy (bot/telegram/retry.py): what each of Telegram's answers means, and the
backoff schedule. The engines' behaviour on them is in test_delivery.py and test_broadcast.py."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.telegram.lanes import DeliveryStopped
from bot.telegram.retry import BACKOFF_MAX, MAX_ATTEMPTS, Failure, Kind, backoff, classify


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Kind.BLOCKED),
        (BadRequest("Bad Request: message to edit not found"), Kind.GONE),
        (BadRequest("Bad Request: message can't be edited"), Kind.GONE),
        (BadRequest("Bad Request: there is no text in the message to edit"), Kind.GONE),
        (BadRequest("Bad Request: MESSAGE_ID_INVALID"), Kind.GONE),
        (BadRequest("Bad Request: can't parse entities"), Kind.REFUSED),
        (NetworkError("Bad Gateway (502)"), Kind.TRANSIENT),
        (NetworkError("Internal Server Error (500)"), Kind.TRANSIENT),
        (TimedOut(), Kind.TRANSIENT),
        (TelegramError("Invalid server response"), Kind.ODD),
        (InvalidToken(), Kind.ODD),
        (Conflict("terminated by other getUpdates request"), Kind.ODD),
        (ChatMigrated(-1001), Kind.ODD),
        (DeliveryStopped(), Kind.NOT_SENT),
        (RuntimeError("a bug"), Kind.UNEXPECTED),
    ],
)
def test_each_answer_has_one_meaning(error: BaseException, kind: Kind) -> None:
    assert classify(error) == Failure(kind)


@pytest.mark.parametrize("retry_after", [7, dt.timedelta(seconds=7)])
def test_a_429_waits_what_telegram_asks(retry_after: int | dt.timedelta) -> None:
    failure = classify(RetryAfter(retry_after))  # PTB_TIMEDELTA decides which type it is
    assert failure == Failure(Kind.FLOOD, 7.0)


def test_at_least_once_retries_what_may_not_have_arrived_at_most_once_only_what_did_not() -> None:
    retried = {k for k in Kind if Failure(k).retry_later}
    resent = {k for k in Kind if Failure(k).certainly_unsent}
    assert retried == {Kind.FLOOD, Kind.TRANSIENT, Kind.ODD, Kind.NOT_SENT}
    assert resent == {Kind.FLOOD, Kind.NOT_SENT}


def test_the_backoff_doubles_up_to_its_cap_and_gives_up_after_the_last_attempt() -> None:
    waits = [backoff(attempts) for attempts in range(1, MAX_ATTEMPTS + 2)]
    assert waits[:7] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, BACKOFF_MAX]
    assert waits[7:] == [None, None]
