"""What a loan really costs: its cash flows, the annual rate by the IRR method, and the ceilings.

The annual percentage rate is the monthly internal rate of return times twelve: the compound
(IRR) method, one of the two the People's Bank of China has let lenders disclose since 2021, and
the one that does not flatter the lender, since it charges interest only on what is still owed.
Every rate is worked out on the money that actually reached the borrower: interest deducted up
front (砍头息) and a fee paid out of pocket are not money lent.

Free of any channel and of the database: numbers in, numbers out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from pydantic import BaseModel, ConfigDict, Field

MONTHS_A_YEAR = 12
DAYS_A_YEAR = 365
MAX_INSTALMENTS = 120
# Bisection brackets a monthly rate between these (0 to 1000 % a month): enough for any loan
# a resident could meet, usurious ones included.
_LOW, _HIGH = 0.0, 10.0
_TOLERANCE = 1e-12


class Kind(enum.StrEnum):
    """How the lender says repayment works."""

    FLAT = "flat"  # equal instalments, a monthly fee charged on the whole amount (等本等息)
    DAILY = "daily"  # a daily rate on what is still owed, repaid in equal monthly instalments
    UPFRONT = "upfront"  # interest deducted before the money was paid out (砍头息)
    FEE = "fee"  # a one-off "service fee" paid by the borrower, then equal instalments


class Lender(enum.StrEnum):
    """Who lends: which ceiling applies."""

    LICENSED = "licensed"  # banks, consumer-finance and microloan companies, platforms
    PRIVATE = "private"  # a person or a company that is not a lender (民间借贷)
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class Terms:
    """Everything the resident told the calculator; which fields matter depends on ``kind``."""

    kind: Kind
    received: float  # yuan that reached the borrower's account
    instalments: int  # monthly payments
    monthly_fee: float = 0.0  # FLAT: percent of the whole amount, each month
    daily_rate: float = 0.0  # DAILY: percent a day
    contract: float = 0.0  # UPFRONT: the amount written in the contract
    fee: float = 0.0  # FEE: yuan paid by the borrower
    fee_before: bool = False  # FEE: asked for before the money arrived
    payment: float = 0.0  # UPFRONT and FEE: each monthly payment, as the lender states it


@dataclasses.dataclass(frozen=True)
class Cost:
    """The real cost of one loan."""

    apr: float  # nominal annual rate by the IRR method (monthly IRR x 12), as a fraction
    effective: float  # the same compounded over a year, (1 + monthly)^12 - 1
    net_received: float  # what the borrower really got to use
    payment: float  # each monthly payment
    instalments: int
    total_repaid: float  # every yuan the borrower pays, fees included
    extra_cost: float  # total repaid minus the money received


def npv(rate: float, received: float, payments: tuple[float, ...]) -> float:
    """What the lender gains at a monthly ``rate``: payments discounted, less the money lent."""
    value, factor = -received, 1.0
    for amount in payments:
        factor /= 1.0 + rate
        value += amount * factor
    return value


def monthly_irr(received: float, payments: tuple[float, ...]) -> float:
    """The monthly rate at which the payments are worth exactly the money received (bisection).

    Raises ValueError when no rate in 0-1000 % a month fits: payments that add up to less than
    the money received (nothing to find), or no money received at all.
    """
    if received <= 0 or not payments or any(p < 0 for p in payments):
        raise ValueError("a loan needs money received and payments that are not negative")
    if sum(payments) < received:
        raise ValueError("the payments add up to less than the money received")
    low, high = _LOW, _HIGH
    if npv(high, received, payments) > 0:
        raise ValueError("the rate is beyond 1000 % a month")
    # npv falls as the rate rises; halve the bracket until it is narrower than the tolerance.
    while high - low > _TOLERANCE:
        middle = (low + high) / 2
        if npv(middle, received, payments) > 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def annuity_payment(principal: float, monthly_rate: float, instalments: int) -> float:
    """The equal monthly payment that repays ``principal`` with interest on what is still owed."""
    if monthly_rate == 0:
        return principal / instalments
    return principal * monthly_rate / (1.0 - (1.0 + monthly_rate) ** -instalments)


def cash_flows(terms: Terms) -> tuple[float, float, tuple[float, ...], float]:
    """(money really received, each payment, the payments, fees paid) for the terms given."""
    n = terms.instalments
    if not 1 <= n <= MAX_INSTALMENTS:
        raise ValueError(f"instalments must be 1-{MAX_INSTALMENTS}")
    match terms.kind:
        case Kind.FLAT:
            # The fee is charged on the whole amount every month, however much is repaid.
            payment = terms.received / n + terms.received * terms.monthly_fee / 100
            return terms.received, payment, (payment,) * n, 0.0
        case Kind.DAILY:
            monthly = terms.daily_rate / 100 * DAYS_A_YEAR / MONTHS_A_YEAR
            payment = annuity_payment(terms.received, monthly, n)
            return terms.received, payment, (payment,) * n, 0.0
        case Kind.UPFRONT:
            # Civil Code art. 670: the principal is what was received, not the contract amount.
            return terms.received, terms.payment, (terms.payment,) * n, 0.0
        case Kind.FEE:
            net = terms.received - terms.fee
            return net, terms.payment, (terms.payment,) * n, terms.fee


def real_cost(terms: Terms) -> Cost:
    """The annual rate, total repaid and extra cost of a loan; ValueError if it makes no sense."""
    net, payment, payments, fees = cash_flows(terms)
    rate = monthly_irr(net, payments)
    total = sum(payments) + fees
    return Cost(
        apr=rate * MONTHS_A_YEAR,
        effective=(1.0 + rate) ** MONTHS_A_YEAR - 1.0,
        net_received=net,
        payment=payment,
        instalments=terms.instalments,
        total_repaid=total,
        extra_cost=total - terms.received,
    )


# The figures the comparison needs, as content/loans.yaml gives them (with source and date).


class Figure(BaseModel):
    """One time-sensitive figure: its value, the date it was last confirmed, and its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    percent: float = Field(gt=0, lt=100)
    as_of: dt.date  # the date the figure was last confirmed in its source
    source: str = Field(min_length=3)
    confidence: str = Field(min_length=3)  # the fact sheet's tag, e.g. "[V][T]"


class Figures(BaseModel):
    """The one-year LPR, the licensed lenders' ceiling and the warning line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lpr: Figure  # one-year Loan Prime Rate; the court cap is 4 times it, at signing
    licensed_ceiling: Figure  # regulators' comprehensive-cost ceiling for licensed lenders
    warning_line: Figure  # above this, a warning sign whoever lends (not a figure that moves)

    @property
    def private_cap(self) -> float:
        """The court-protected cap on private lending, as a fraction (4 x LPR)."""
        return 4 * self.lpr.percent / 100

    def stale(self, today: dt.date, *, months: int = 6) -> list[tuple[str, Figure]]:
        """Figures last confirmed more than ``months`` ago: re-check them."""
        limit = today - dt.timedelta(days=round(months * 365.25 / 12))
        moving = (("lpr", self.lpr), ("licensed_ceiling", self.licensed_ceiling))
        return [(name, figure) for name, figure in moving if figure.as_of < limit]


class Finding(enum.StrEnum):
    """What the result says beside the numbers; each has a sentence in content/loans.yaml."""

    ABOVE_PRIVATE_CAP = "above_private_cap"
    WITHIN_PRIVATE_CAP = "within_private_cap"
    ABOVE_LICENSED_CEILING = "above_licensed_ceiling"
    WITHIN_LICENSED_CEILING = "within_licensed_ceiling"
    BOTH_LINES = "both_lines"  # lender unknown: both lines are shown
    ABOVE_WARNING_LINE = "above_warning_line"
    FEE_BEFORE_MONEY = "fee_before_money"
    DEDUCTED_UP_FRONT = "deducted_up_front"
    FLAT_FEE_MISLEADS = "flat_fee_misleads"


def findings(terms: Terms, cost: Cost, lender: Lender, figures: Figures) -> list[Finding]:
    """The comparison with the right ceiling, then the warnings, in the order they are shown.

    A licensed lender is compared only with the regulators' ceiling: the 4 x LPR test is about
    what courts protect in private lending, so it alone never makes a licensed loan unlawful.
    """
    found: list[Finding] = []
    match lender:
        case Lender.PRIVATE:
            above = cost.apr > figures.private_cap + 1e-9
            found.append(Finding.ABOVE_PRIVATE_CAP if above else Finding.WITHIN_PRIVATE_CAP)
        case Lender.LICENSED:
            above = cost.apr > figures.licensed_ceiling.percent / 100 + 1e-9
            found.append(
                Finding.ABOVE_LICENSED_CEILING if above else Finding.WITHIN_LICENSED_CEILING
            )
        case Lender.UNKNOWN:
            found.append(Finding.BOTH_LINES)
    if cost.apr > figures.warning_line.percent / 100 + 1e-9:
        found.append(Finding.ABOVE_WARNING_LINE)
    if terms.kind is Kind.FEE and terms.fee_before:
        found.append(Finding.FEE_BEFORE_MONEY)
    if terms.kind is Kind.UPFRONT:
        found.append(Finding.DEDUCTED_UP_FRONT)
    if terms.kind is Kind.FLAT and terms.monthly_fee > 0:
        found.append(Finding.FLAT_FEE_MISLEADS)
    return found
