"""The loan calculator's numbers, against the cases the issue names and an independent solver."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bot.core.fraud.loan_cost import (
    Figure,
    Figures,
    Finding,
    Kind,
    Lender,
    Terms,
    annuity_payment,
    monthly_irr,
    real_cost,
)


def figures(lpr: float = 3.0, ceiling: float = 24.0) -> Figures:
    def figure(percent: float, as_of: dt.date = dt.date(2026, 1, 20)) -> Figure:
        return Figure(percent=percent, as_of=as_of, source="fact sheet", confidence="[V][T]")

    return Figures(lpr=figure(lpr), licensed_ceiling=figure(ceiling), warning_line=figure(36.0))


def test_one_percent_a_month_flat_is_about_21_5_percent_not_12() -> None:
    cost = real_cost(Terms(Kind.FLAT, received=10_000, instalments=12, monthly_fee=1.0))
    assert cost.payment == pytest.approx(10_000 / 12 + 100)
    assert cost.total_repaid == pytest.approx(11_200)
    assert cost.extra_cost == pytest.approx(1_200)
    assert cost.apr == pytest.approx(0.2146, abs=5e-4)  # the fact sheet's 21.5 %
    assert cost.effective == pytest.approx(0.237, abs=1e-3)  # and 23.7 % compounded


@pytest.mark.parametrize(
    ("fee", "apr"), [(0.60, 0.130), (0.75, 0.162), (1.00, 0.215)]
)  # the fact sheet's table (3.3)
def test_the_fact_sheets_flat_fee_table(fee: float, apr: float) -> None:
    cost = real_cost(Terms(Kind.FLAT, received=10_000, instalments=12, monthly_fee=fee))
    assert round(cost.apr, 3) == apr


def test_a_daily_rate_of_0_05_percent_is_18_25_percent() -> None:
    for instalments in (1, 6, 12, 36):
        terms = Terms(Kind.DAILY, received=5_000, instalments=instalments, daily_rate=0.05)
        assert real_cost(terms).apr == pytest.approx(0.1825, abs=1e-9)
    cost = real_cost(Terms(Kind.DAILY, received=1_000, instalments=12, daily_rate=0.1))
    assert cost.apr == pytest.approx(0.365, abs=1e-9)


def test_interest_deducted_up_front_counts_only_what_was_received() -> None:
    """10,000 in the contract, 1,000 deducted, 12 x 900: the rate is on 9,000."""
    terms = Terms(Kind.UPFRONT, received=9_000, instalments=12, contract=10_000, payment=900)
    cost = real_cost(terms)
    on_received = monthly_irr(9_000, (900.0,) * 12)
    assert cost.apr == pytest.approx(on_received * 12)
    on_contract = monthly_irr(10_000, (900.0,) * 12)
    assert cost.apr > on_contract * 12 + 0.15  # on paper it would look far cheaper
    assert cost.total_repaid == pytest.approx(10_800)
    assert cost.extra_cost == pytest.approx(1_800)
    assert cost.net_received == 9_000
    assert Finding.DEDUCTED_UP_FRONT in _findings(terms, Lender.LICENSED)


def test_the_fact_sheets_up_front_example_is_about_43_percent() -> None:
    terms = Terms(
        Kind.UPFRONT, received=8_000, instalments=12, contract=10_000, payment=10_000 / 12
    )
    assert real_cost(terms).apr == pytest.approx(0.43, abs=0.01)


def test_a_fee_is_money_not_lent() -> None:
    terms = Terms(Kind.FEE, received=10_000, instalments=12, fee=500, fee_before=True, payment=900)
    cost = real_cost(terms)
    assert cost.net_received == 9_500
    assert cost.apr == pytest.approx(monthly_irr(9_500, (900.0,) * 12) * 12)
    assert cost.total_repaid == pytest.approx(11_300)
    assert cost.extra_cost == pytest.approx(1_300)
    assert Finding.FEE_BEFORE_MONEY in _findings(terms, Lender.UNKNOWN)
    after = Terms(Kind.FEE, received=10_000, instalments=12, fee=500, payment=900)
    assert Finding.FEE_BEFORE_MONEY not in _findings(after, Lender.UNKNOWN)


def _findings(terms: Terms, lender: Lender, **kwargs: float) -> list[Finding]:
    from bot.core.fraud.loan_cost import findings

    return findings(terms, real_cost(terms), lender, figures(**kwargs))


def test_each_lender_is_compared_with_its_own_line() -> None:
    # About 21.5 %: above 4 x 3 % = 12 %, below the licensed lenders' 24 %.
    terms = Terms(Kind.FLAT, received=10_000, instalments=12, monthly_fee=1.0)
    assert _findings(terms, Lender.PRIVATE)[0] is Finding.ABOVE_PRIVATE_CAP
    licensed = _findings(terms, Lender.LICENSED)
    assert licensed[0] is Finding.WITHIN_LICENSED_CEILING
    # The 4 x LPR test alone never makes a licensed loan unlawful.
    assert Finding.ABOVE_PRIVATE_CAP not in licensed
    assert _findings(terms, Lender.UNKNOWN)[0] is Finding.BOTH_LINES
    # The cap follows the LPR at signing: 4 x 6 % = 24 % would cover it.
    assert _findings(terms, Lender.PRIVATE, lpr=6.0)[0] is Finding.WITHIN_PRIVATE_CAP


def test_above_36_percent_is_a_warning_whoever_lends() -> None:
    terms = Terms(Kind.DAILY, received=1_000, instalments=6, daily_rate=0.1)  # 36.5 %
    for lender in Lender:
        assert Finding.ABOVE_WARNING_LINE in _findings(terms, lender)
    below = Terms(Kind.DAILY, received=1_000, instalments=6, daily_rate=0.09)
    assert Finding.ABOVE_WARNING_LINE not in _findings(below, Lender.LICENSED)


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="less than"):
        real_cost(Terms(Kind.UPFRONT, received=9_000, instalments=12, payment=100))
    with pytest.raises(ValueError, match="instalments"):
        real_cost(Terms(Kind.FLAT, received=9_000, instalments=0, monthly_fee=1))
    with pytest.raises(ValueError):
        real_cost(Terms(Kind.FEE, received=500, instalments=3, fee=500, payment=300))
    assert real_cost(
        Terms(Kind.FLAT, received=900, instalments=3, monthly_fee=0)
    ).apr == pytest.approx(0, abs=1e-9)


def test_stale_figures_are_named() -> None:
    book = figures()
    assert book.stale(dt.date(2026, 7, 1)) == []
    assert [name for name, _ in book.stale(dt.date(2026, 7, 25))] == [
        "lpr",
        "licensed_ceiling",
    ]  # the 36 % warning line is not a figure that moves


# An independent implementation: Newton's method on the present value, written separately.


def newton_monthly_rate(received: float, payments: list[float]) -> float:
    rate = 0.01
    for _ in range(200):
        value = -received + sum(p / (1 + rate) ** (k + 1) for k, p in enumerate(payments))
        slope = sum(-(k + 1) * p / (1 + rate) ** (k + 2) for k, p in enumerate(payments))
        step = value / slope
        rate -= step
        if abs(step) < 1e-14:
            break
    return rate


def test_randomised_loans_agree_with_an_independent_solver() -> None:
    rng = random.Random(20261203)
    for _ in range(300):
        received = rng.uniform(500, 200_000)
        instalments = rng.randint(1, 60)
        kind = rng.choice(list(Kind))
        terms = Terms(
            kind,
            received=received,
            instalments=instalments,
            monthly_fee=rng.uniform(0, 3),
            daily_rate=rng.uniform(0, 0.2),
            fee=rng.uniform(0, received * 0.2),
            payment=received / instalments * rng.uniform(1.0, 1.6),
        )
        try:
            cost = real_cost(terms)
        except ValueError:
            continue  # the payments do not cover the money received
        payments = [cost.payment] * instalments
        expected = newton_monthly_rate(cost.net_received, payments)
        assert cost.apr == pytest.approx(expected * 12, abs=1e-8)


def test_randomised_annuities_give_back_their_rate() -> None:
    """Closed form: payments built at a known monthly rate have that rate as their IRR."""
    rng = random.Random(7)
    for _ in range(300):
        rate = rng.uniform(0.0001, 0.2)
        instalments = rng.randint(1, 120)
        received = rng.uniform(100, 1_000_000)
        payment = annuity_payment(received, rate, instalments)
        assert monthly_irr(received, (payment,) * instalments) == pytest.approx(rate, abs=1e-10)
