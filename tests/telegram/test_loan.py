"""The loan calculator end to end: buttons and typed numbers, state in the database across a
restart, stale and forged buttons, the result against the right line, and nothing kept after."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.fraud.loan_book import LoanTexts
from bot.core.html import visible_text
from bot.core.i18n import Language
from bot.housekeeping import LOAN_SESSION_MEMORY, Housekeeping
from tests.conftest import Harness
from tests.fakes.resident import TelegramUser

CODES: dict[Language, str] = {"zh": "zh-hans", "en": "en-US"}


def texts(bot: Harness, language: Language) -> LoanTexts:
    assert bot.content.loans is not None
    return bot.content.loans.texts[language]


async def onboard(bot: Harness, user_id: int, language: Language = "en") -> TelegramUser:
    ui = bot.content.ui[language]
    user = bot.resident(user_id=user_id, language_code=CODES[language], first_name=f"R{user_id}")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.send("/menu")
    return user


async def sessions(bot: Harness, resident_id: int) -> list[dict[str, object]]:
    exported = await bot.store.privacy.export(resident_id=resident_id)
    stored: list[dict[str, object]] = exported["loan_sessions"]
    return stored


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_interest_deducted_up_front_from_the_menu(bot: Harness, language: Language) -> None:
    t = texts(bot, language)
    user = await onboard(bot, 61, language)
    await user.press(t.btn_loan)
    assert t.ask_received in user.last.visible
    await user.send("9000")
    assert t.ask_kind in user.last.visible
    await user.press(t.kind_upfront)
    assert t.ask_contract in user.last.visible
    await user.send("１０,０００元")  # full-width digits and a unit, as phones type them
    await user.press(t.btn_instalments.format(n=12))
    assert t.ask_payment in user.last.visible
    await user.send("900")
    await user.press(t.btn_lender_licensed)
    result = user.last.visible
    assert t.result_apr.format(apr="35.1%") in result  # on the 9,000 received, not 10,000
    assert t.result_total.format(total="10,800") in result
    assert t.result_extra.format(extra="1,800", received="9,000") in result
    assert (
        visible_text(t.finding_deducted_up_front.format(received="9,000", contract="10,000"))
        in result
    )
    assert await sessions(bot, 61) == []  # nothing typed is kept once the result is shown


async def test_flat_monthly_fee_typed_throughout(bot: Harness) -> None:
    t = texts(bot, "en")
    user = await onboard(bot, 62)
    await user.send("/loan")
    await user.send("10000")
    await user.press(t.kind_flat)
    await user.send("1%")
    await user.send("12")  # instalments typed instead of tapped
    await user.press(t.btn_lender_private)
    result = user.last.visible
    assert t.result_apr.format(apr="21.5%") in result  # not 12 %
    assert "12%" in result  # the private-lending cap at 4 x 3 %, with the LPR's date
    assert bot.content.loans is not None
    figures = bot.content.loans.figures
    assert figures.lpr.as_of.isoformat() in result


async def test_a_fee_before_the_money_is_a_scam_sign(bot: Harness) -> None:
    t = texts(bot, "zh")
    user = await onboard(bot, 63, "zh")
    await user.send("/loan")
    await user.send("1万")
    await user.press(t.kind_fee)
    await user.send("500")
    await user.press(t.btn_fee_before)
    await user.press(t.btn_instalments.format(n=12))
    await user.send("900")
    await user.press(t.btn_lender_unknown)
    assert t.finding_fee_before_money in user.last.visible


async def test_wrong_numbers_are_asked_again(bot: Harness) -> None:
    t = texts(bot, "en")
    user = await onboard(bot, 64)
    await user.send("/loan")
    await user.send("a lot")
    assert t.not_a_number in user.last.visible
    assert t.ask_received in user.last.visible
    await user.send("0")
    assert t.out_of_range.split("{")[0] in user.last.visible
    await user.send("9000")
    await user.send("3")  # a number where a button is wanted
    assert t.tap_a_button in user.last.visible
    assert t.ask_kind in user.last.visible
    await user.press(t.kind_upfront)
    await user.send("8000")  # less than received: not a contract amount
    assert t.contract_not_more.format(received="9,000") in user.last.visible
    await user.send("10000")
    await user.press(t.btn_instalments.format(n=3))
    await user.send("100")  # 3 x 100 < 9,000 received
    assert t.payments_too_small.format(total="300", net="9,000") in user.last.visible
    await user.send("3100")
    assert t.ask_lender in user.last.visible


async def test_the_calculator_survives_a_restart(bot: Harness) -> None:
    t = texts(bot, "en")
    user = await onboard(bot, 65)
    await user.send("/loan")
    await user.send("5000")
    await user.press(t.kind_daily)
    await bot.restart(user)  # a new process on the same database: nothing in memory
    await user.send("0.05")
    await user.press(t.btn_instalments.format(n=6))
    await user.press(t.btn_lender_licensed)
    assert t.result_apr.format(apr="18.2%") in user.last.visible


async def test_stale_double_and_forged_buttons(bot: Harness) -> None:
    t = texts(bot, "en")
    ui = bot.content.ui["en"]
    user = await onboard(bot, 66)
    await user.send("/loan")
    await user.send("9000")
    kinds = user.last
    data = kinds.callback_data(t.kind_flat)
    await user.press(t.kind_flat)
    # The same button again (a double press): the question that is due, nothing changes.
    again = await user.press_data(data, kinds)
    assert again.answered
    assert t.ask_monthly_fee in user.last.visible
    # A new /loan replaces the session: the old screen's buttons are stale.
    await user.send("/loan")
    stale = await user.press_data(data, kinds)
    assert stale.of("answerCallbackQuery")[0].params.get("text") == ui.stale_button
    for forged in ("1:lc:1:9:0", "1:lc:99999:1:0", "1:lc:1:1:99", "1:lx:12345", "1:lc:x:1:0"):
        exchange = await user.press_data(forged)
        assert exchange.answered
        assert ui.stale_button in user.last.visible
    (row,) = await sessions(bot, 66)
    assert row["step"] == "received" and row["answers"] == "{}"


async def test_stop_deletes_what_was_typed_and_text_goes_back_to_normal(bot: Harness) -> None:
    t = texts(bot, "en")
    user = await onboard(bot, 67)
    await user.send("/loan")
    await user.send("9000")
    assert len(await sessions(bot, 67)) == 1
    await user.press(t.btn_stop)
    assert t.stopped in user.last.visible
    assert await sessions(bot, 67) == []
    await user.send("12345")  # no calculator waiting: ordinary typed text
    assert t.ask_kind not in user.last.visible


async def test_mydata_shows_and_forget_deletes_a_session(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    user = await onboard(bot, 68)
    await user.send("/loan")
    await user.send("7777")
    (row,) = await sessions(bot, 68)
    assert row["step"] == "kind" and "7777" in str(row["answers"])
    await user.send("/forget")
    await user.press(ui.btn_forget_confirm)
    assert await sessions(bot, 68) == []


async def test_an_idle_session_is_purged_and_stops_taking_text(bot: Harness) -> None:
    user = await onboard(bot, 69)
    await user.send("/loan")
    await user.send("9000")
    store = bot.store
    later = dt.datetime.now(dt.UTC) + LOAN_SESSION_MEMORY + dt.timedelta(minutes=1)
    store.loans._now = lambda: later  # the store's clock, a day on
    housekeeping = Housekeeping(store, bot.settings)
    removed = await housekeeping.run_once()
    assert removed["loan calculator sessions"] == 1
    assert await sessions(bot, 69) == []
