"""The loan calculator's questions, in order, and how its figures are written.

Shared by its conversation (``loan_talk``) and its screens (``bot.core.screens.loans``).
"""

from __future__ import annotations

from typing import Any

from bot.core.fraud.loan_cost import Kind, Lender, Terms

STEPS = (
    "received",
    "kind",
    "monthly_fee",
    "daily_rate",
    "contract",
    "fee",
    "fee_when",
    "instalments",
    "payment",
    "lender",
)
NUMBER_STEPS = frozenset(
    {"received", "monthly_fee", "daily_rate", "contract", "fee", "instalments", "payment"}
)
KINDS = (Kind.FLAT, Kind.DAILY, Kind.UPFRONT, Kind.FEE)
LENDERS = (Lender.LICENSED, Lender.PRIVATE, Lender.UNKNOWN)
INSTALMENT_CHOICES = (3, 6, 12, 24, 36)


def terms_of(answers: dict[str, Any]) -> Terms:
    return Terms(
        kind=Kind(answers["kind"]),
        received=float(answers["received"]),
        instalments=int(answers["instalments"]),
        monthly_fee=float(answers.get("monthly_fee", 0.0)),
        daily_rate=float(answers.get("daily_rate", 0.0)),
        contract=float(answers.get("contract", 0.0)),
        fee=float(answers.get("fee", 0.0)),
        fee_before=bool(answers.get("fee_before", False)),
        payment=float(answers.get("payment", 0.0)),
    )


def money(value: float) -> str:
    return f"{value:,.2f}".removesuffix(".00")


def percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def plain(number: float) -> str:
    return f"{number:g}"
