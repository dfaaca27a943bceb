"""content/loans.yaml as data: the loan calculator's texts and the figures it compares with.

Separate from the calculator's conversation (``loan_talk``) so the content loader needs no
screens.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from bot.core.fraud.loan_cost import Figures
from bot.core.i18n import Language
from bot.core.validation import missing_languages

LOANS_FILE = "loans.yaml"


class LoanTexts(BaseModel):
    """Everything the calculator says, in one language ({name} placeholders as marked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    btn_loan: str  # the main menu's button
    title: str
    ask_received: str
    ask_kind: str
    kind_flat: str
    kind_daily: str
    kind_upfront: str
    kind_fee: str
    ask_monthly_fee: str
    ask_daily_rate: str
    ask_contract: str
    ask_fee: str
    ask_fee_when: str
    btn_fee_before: str
    btn_fee_after: str
    ask_instalments: str
    btn_instalments: str  # {n}
    ask_payment: str
    ask_lender: str
    btn_lender_licensed: str
    btn_lender_private: str
    btn_lender_unknown: str
    btn_stop: str
    btn_again: str
    type_hint: str
    not_a_number: str
    tap_a_button: str
    out_of_range: str  # {low} {high}
    contract_not_more: str  # {received}
    fee_too_big: str  # {received}
    payments_too_small: str  # {total} {net}
    stopped: str
    result_title: str
    result_apr: str  # {apr}
    result_effective: str  # {effective}
    result_payment: str  # {payment} {n}
    result_total: str  # {total}
    result_extra: str  # {extra} {received}
    result_net: str  # {net}
    result_method: str
    finding_above_private_cap: str  # {apr} {cap} {lpr} {lpr_date}
    finding_within_private_cap: str  # {apr} {cap} {lpr} {lpr_date}
    finding_above_licensed_ceiling: str  # {apr} {ceiling} {ceiling_date}
    finding_within_licensed_ceiling: str  # {apr} {ceiling} {ceiling_date}
    finding_both_lines: str  # {apr} {cap} {lpr} {lpr_date} {ceiling} {ceiling_date}
    finding_above_warning_line: str  # {apr} {line}
    finding_fee_before_money: str
    finding_deducted_up_front: str  # {contract} {received}
    finding_flat_fee_misleads: str  # {fee} {naive} {apr}
    advice: str

    @field_validator("*", mode="after")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class LoanBook(BaseModel):
    """content/loans.yaml: the calculator's texts and the figures it compares with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    figures: Figures
    texts: dict[Language, LoanTexts]

    @field_validator("texts")
    @classmethod
    def _every_language(cls, value: dict[Language, LoanTexts]) -> dict[Language, LoanTexts]:
        missing = missing_languages(value)
        if missing:
            raise ValueError(f"texts missing for {', '.join(missing)}")
        return value
