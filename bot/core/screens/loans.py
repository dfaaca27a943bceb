"""The loan calculator's screens: one question at a time, then the real cost."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core.content import Content
from bot.core.fraud.loan_book import LoanTexts
from bot.core.fraud.loan_cost import Lender, Terms, findings, real_cost
from bot.core.fraud.loan_steps import INSTALMENT_CHOICES, NUMBER_STEPS, STEPS, money, percent, plain
from bot.core.i18n import Language
from bot.core.replies import Button, Keyboard, Screen


def _texts(content: Content, language: Language) -> LoanTexts:
    assert content.loans is not None
    return content.loans.texts[language]


def step_screen(
    content: Content,
    language: Language,
    session_id: int,
    step: str,
    *,
    notice: str | None = None,
) -> Screen:
    """The question for ``step``, with its buttons (and a way out)."""
    texts = _texts(content, language)
    index = STEPS.index(step)
    ui = content.ui[language]

    def choice(label: str, value: int) -> Button:
        return Button.of(label, cb.LoanChoose(session_id, index, value))

    rows: list[tuple[Button, ...]] = []
    prompt = {
        "received": texts.ask_received,
        "kind": texts.ask_kind,
        "monthly_fee": texts.ask_monthly_fee,
        "daily_rate": texts.ask_daily_rate,
        "contract": texts.ask_contract,
        "fee": texts.ask_fee,
        "fee_when": texts.ask_fee_when,
        "instalments": texts.ask_instalments,
        "payment": texts.ask_payment,
        "lender": texts.ask_lender,
    }[step]
    if step == "kind":
        kinds = (texts.kind_flat, texts.kind_daily, texts.kind_upfront, texts.kind_fee)
        rows += [(choice(label, i),) for i, label in enumerate(kinds)]
    elif step == "fee_when":
        rows += [(choice(texts.btn_fee_before, 0),), (choice(texts.btn_fee_after, 1),)]
    elif step == "instalments":
        rows.append(tuple(choice(texts.btn_instalments.format(n=n), n) for n in INSTALMENT_CHOICES))
    elif step == "lender":
        lenders = (texts.btn_lender_licensed, texts.btn_lender_private, texts.btn_lender_unknown)
        rows += [(choice(label, i),) for i, label in enumerate(lenders)]
    rows.append(
        (
            Button.of(texts.btn_stop, cb.LoanStop(session_id)),
            Button.of(ui.btn_menu, cb.Menu()),
        )
    )
    text = content.render(
        "loan_step.html.j2",
        language,
        texts=texts,
        notice=notice,
        prompt=prompt,
        typed=step in NUMBER_STEPS,
    )
    return Screen(text, tuple(rows), expects_text=step in NUMBER_STEPS)


def result_screen(content: Content, language: Language, terms: Terms, lender: Lender) -> Screen:
    """The real cost, the comparison with the right ceiling, and the warnings."""
    texts = _texts(content, language)
    assert content.loans is not None
    figures = content.loans.figures
    ui = content.ui[language]
    cost = real_cost(terms)
    apr = percent(cost.apr)
    fields = {
        "apr": apr,
        "cap": percent(figures.private_cap),
        "lpr": f"{plain(figures.lpr.percent)}%",
        "lpr_date": figures.lpr.as_of.isoformat(),
        "ceiling": f"{plain(figures.licensed_ceiling.percent)}%",
        "ceiling_date": figures.licensed_ceiling.as_of.isoformat(),
        "line": f"{plain(figures.warning_line.percent)}%",
        "contract": money(terms.contract),
        "received": money(terms.received),
        "fee": plain(terms.monthly_fee),
        "naive": f"{plain(round(terms.monthly_fee * 12, 2))}%",
    }
    said = [
        getattr(texts, f"finding_{finding.value}").format(**fields)
        for finding in findings(terms, cost, lender, figures)
    ]
    lines = [
        texts.result_apr.format(apr=apr),
        texts.result_effective.format(effective=percent(cost.effective)),
        texts.result_payment.format(payment=money(cost.payment), n=cost.instalments),
        texts.result_total.format(total=money(cost.total_repaid)),
        texts.result_extra.format(extra=money(cost.extra_cost), received=money(terms.received)),
    ]
    if cost.net_received != terms.received:
        lines.append(texts.result_net.format(net=money(cost.net_received)))
    keyboard: Keyboard = (
        (Button.of(texts.btn_again, cb.LoanStart()),),
        (Button.of(ui.btn_menu, cb.Menu()),),
    )
    text = content.render("loan_result.html.j2", language, texts=texts, lines=lines, findings=said)
    return Screen(text, keyboard)
