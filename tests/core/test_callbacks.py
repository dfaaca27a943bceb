"""Callback data: every action round-trips; anything else decodes to None."""

from __future__ import annotations

import pytest

from bot.core import callbacks as cb

ACTIONS: list[cb.Action] = [
    cb.Menu(),
    cb.Topics(),
    cb.OpenTopic("pay"),
    cb.ShowCard("pay-codes", 3),
    cb.StartQuiz("pay-codes"),
    cb.Answer(2**31 - 1, 5, 3),
    cb.NextQuestion(7, 2),
    cb.CardSources("a" * 24, 11),
    cb.QuestionSources("a" * 24),
    cb.RetryMissed(9),
    cb.Continue(),
    cb.Progress(),
    cb.Help(),
    cb.ChooseLanguage(),
    cb.SetLanguage("en"),
    cb.Agree(),
    cb.ForgetConfirm(),
    cb.ForgetCancel(),
    cb.ProfileStart(),
    cb.ProfileAnswer(2, 5),
    cb.ProfileDecline(0),
    cb.ProfileSkip(),
    cb.StartCheckup(),
    cb.CheckupAnswer(2**31 - 1, 19, 4),
    cb.CheckupDontKnow(5, 0),
    cb.SetAnnouncements(on=False, edit=True),
    cb.NoticeAgree(2),
    cb.NoticeLater(2**31 - 1),
    cb.NoticeReview(),
    cb.CheckMessage(),
    cb.DrillNext(),
    cb.DrillAnswer("a" * 24, 2),
    cb.LoanStart(),
    cb.LoanChoose(2**31 - 1, 9, 120),
    cb.LoanStop(2**31 - 1),
    cb.AskOpen("a" * 24),
    cb.Scammed(),
    cb.BroadcastSend(2**31 - 1),
    cb.BroadcastCancel(3),
]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: type(a).__name__)
def test_round_trip_within_64_bytes(action: cb.Action) -> None:
    data = cb.encode(action)
    assert data.startswith(cb.VERSION + ":")
    assert len(data.encode()) <= 64
    assert cb.decode(data) == action


def test_every_action_has_a_code() -> None:
    assert len(ACTIONS) == len({type(a) for a in ACTIONS}) == len(cb._CODES)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "garbage",
        "0:m",
        "2:m",
        "1",
        "1:",
        "1:zz",
        "1:m:extra",
        "1:c:pay-codes",
        "1:c:pay-codes:x",
        "1:c:pay-codes:-1",
        "1:c:PAY:1",
        "1:c:../../etc:1",
        "1:a:1:2",
        "1:a:1:2:3:4",
        "1:a:99999999999:0:0",
        "1:a:１:0:0",
        "1:sl:fr",
        "1:tp:" + "a" * 25,
        "1:m" + " " * 70,
        "1:c:pay codes:1",
        "1:an:2:0",
        "1:an:1",
        "1:bs:-1",
        "1:bs:x",
        "1:bx:1:2",
        "1:ao:",
        "1:ao:Credit Report",
        "1:ao:" + "a" * 25,
        "1:sos:1",
    ],
)
def test_hostile_data_is_refused(data: str | None) -> None:
    assert cb.decode(data) is None


def test_encode_refuses_oversized_data() -> None:
    with pytest.raises(ValueError):
        cb.encode(cb.OpenTopic("x" * 70))
