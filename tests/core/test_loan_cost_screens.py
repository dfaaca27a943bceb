"""The loan calculator's words: typed numbers, and what the result says against which line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.core.checks import load_content
from bot.core.checks.fraud import fraud_tool_warnings
from bot.core.checks.render import every_screen
from bot.core.content import Content, ContentError
from bot.core.fraud.loan_book import LOANS_FILE, LoanBook
from bot.core.fraud.loan_cost import Kind, Lender, Terms
from bot.core.fraud.loan_steps import KINDS, LENDERS, STEPS
from bot.core.fraud.loan_talk import parse_number
from bot.core.html import visible_text
from bot.core.i18n import LANGUAGES, Language
from bot.core.screens.loans import result_screen

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("10000", 10_000),
        ("10,000", 10_000),
        ("１００００", 10_000),  # full-width digits
        ("9 000 元", 9_000),
        ("¥500", 500),
        ("1万", 10_000),
        ("1.5万", 15_000),
        ("3千", 3_000),
        ("1.5%", 1.5),
        ("0.05％", 0.05),
        ("12期", 12),
        ("12 months", 12),
        ("900块", 900),
    ],
)
def test_numbers_as_residents_type_them(typed: str, number: float) -> None:
    assert parse_number(typed) == pytest.approx(number)


@pytest.mark.parametrize("typed", ["", "abc", "1,2.3.4", "ten thousand", "-500", "1e5", "五千"])
def test_anything_else_is_not_a_number(typed: str) -> None:
    assert parse_number(typed) is None


def shown(content: Content, terms: Terms, lender: Lender, language: Language = "en") -> str:
    return visible_text(result_screen(content, language, terms, lender).text)


@pytest.fixture
def loans(content: Content) -> LoanBook:
    """The real content's loan calculator (it has one)."""
    assert content.loans is not None
    return content.loans


def test_the_result_says_the_real_rate_total_and_extra_cost(
    content: Content, loans: LoanBook
) -> None:
    texts = loans.texts["en"]
    flat = Terms(Kind.FLAT, received=10_000, instalments=12, monthly_fee=1)
    text = shown(content, flat, Lender.LICENSED)
    assert texts.result_apr.format(apr="21.5%") in text
    assert texts.result_total.format(total="11,200") in text
    assert texts.result_extra.format(extra="1,200", received="10,000") in text
    assert "12%" in text  # the naive rate, named for what it is


def test_a_private_loan_meets_the_court_cap_with_the_lprs_date(
    content: Content, loans: LoanBook
) -> None:
    figures = loans.figures
    flat = Terms(Kind.FLAT, received=10_000, instalments=12, monthly_fee=1)
    text = shown(content, flat, Lender.PRIVATE)
    assert f"{figures.private_cap * 100:.1f}%" in text
    assert figures.lpr.as_of.isoformat() in text
    assert f"{figures.lpr.percent:g}%" in text


def test_a_licensed_loan_is_never_judged_by_the_court_cap(
    content: Content, loans: LoanBook
) -> None:
    texts, figures = loans.texts["en"], loans.figures
    flat = Terms(Kind.FLAT, received=10_000, instalments=12, monthly_fee=1)  # about 21.5 %
    text = shown(content, flat, Lender.LICENSED)
    assert figures.private_cap < 0.215 < figures.licensed_ceiling.percent / 100
    assert texts.finding_above_private_cap.split("{")[0] not in text
    assert figures.licensed_ceiling.as_of.isoformat() in text


def test_the_warnings(content: Content, loans: LoanBook) -> None:
    for language in LANGUAGES:
        texts = loans.texts[language]
        fee_first = Terms(
            Kind.FEE, received=10_000, instalments=12, fee=500, fee_before=True, payment=900
        )
        assert texts.finding_fee_before_money in shown(content, fee_first, Lender.UNKNOWN, language)
        up_front = Terms(Kind.UPFRONT, received=9_000, instalments=12, contract=10_000, payment=900)
        said = shown(content, up_front, Lender.LICENSED, language)
        assert texts.finding_deducted_up_front.format(received="9,000", contract="10,000") in said
        daily = Terms(Kind.DAILY, received=1_000, instalments=3, daily_rate=0.1)
        assert texts.finding_above_warning_line.format(line="36%") in shown(
            content, daily, Lender.PRIVATE, language
        )


def test_every_calculator_screen_is_walked_and_fits_telegram(content: Content) -> None:
    for language in LANGUAGES:
        screens = [s for file, _, s in every_screen(content, language) if file == LOANS_FILE]
        assert len(screens) == len(STEPS) + len(KINDS) * len(LENDERS)  # asked, then results
        for screen in screens:
            assert 0 < len(visible_text(screen.text)) <= 4096
            assert all(len(b.data.encode()) <= 64 for row in screen.keyboard for b in row)


def test_content_check_warns_about_figures_older_than_six_months(
    content: Content, loans: LoanBook
) -> None:
    figures = loans.figures
    fresh = max(figures.lpr.as_of, figures.licensed_ceiling.as_of)
    assert fraud_tool_warnings(content, fresh + dt.timedelta(days=30)) == []
    late = fraud_tool_warnings(content, figures.lpr.as_of + dt.timedelta(days=200))
    assert any("figures.lpr" in line and "re-check" in line for line in late)


def test_the_render_check_catches_a_calculator_screen_over_telegrams_limit(
    content_dir: Path,
) -> None:
    book = yaml.safe_load((REPO / "content" / "loans.yaml").read_text("utf-8"))
    book["texts"]["en"]["ask_received"] += " Check it twice." * 300
    (content_dir / "loans.yaml").write_text(yaml.safe_dump(book, allow_unicode=True), "utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    found = [str(p) for p in caught.value.problems]
    assert any(
        p.startswith("loans.yaml: texts.ask_received (en): rendered message is ")
        and p.endswith("Telegram allows 4096")
        for p in found
    ), found
