"""The spot-the-scam drills as content: enough of them, fair, explained, and rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.checks import load_content
from bot.core.checks.fraud import redflag_ids
from bot.core.checks.render import every_screen
from bot.core.content import Content, ContentError
from bot.core.fraud.drill_book import DRILL_FILE
from bot.core.fraud.drills import CategoryTally, category_figures, next_drill
from bot.core.html import visible_text
from bot.core.i18n import LANGUAGES
from bot.core.screens.drills import ANSWERS, feedback_screen

REPO = Path(__file__).resolve().parents[2]


def test_at_least_forty_drills_and_a_third_genuine(content: Content) -> None:
    book = content.drills
    assert book is not None
    genuine = [d for d in book.drills if d.verdict == "genuine"]
    assert len(book.drills) >= 40
    assert len(genuine) * 3 >= len(book.drills)


def test_drills_span_the_checkers_categories(content: Content) -> None:
    book = content.drills
    assert book is not None
    catalogue = redflag_ids(content)
    used = {d.category for d in book.drills} | {f.category for d in book.drills for f in d.flags}
    if catalogue is not None:  # the checker's catalogue: every id is one of its categories
        assert used <= catalogue
        assert {c.id for c in book.categories} <= catalogue
    # Every category is trained by a scam, and most also have a genuine look-alike.
    scams = {d.category for d in book.drills if d.verdict == "scam"}
    flagged = {f.category for d in book.drills for f in d.flags}
    assert {c.id for c in book.categories} <= scams | flagged
    genuine = {d.category for d in book.drills if d.verdict == "genuine"}
    assert len(genuine) >= 10


def test_every_flag_quotes_its_message_in_both_languages(content: Content) -> None:
    book = content.drills
    assert book is not None
    for drill in book.drills:
        for language in LANGUAGES:
            message = drill.message.get(language)
            for flag in drill.flags:
                assert flag.quote.get(language) in message, (drill.id, language)


def test_feedback_points_at_each_flag_or_says_why_genuine(content: Content) -> None:
    book = content.drills
    assert book is not None
    for language in LANGUAGES:
        texts = book.texts[language]
        for drill in book.drills:
            for answer in ANSWERS:
                shown = visible_text(feedback_screen(content, language, drill, answer).text)
                if drill.verdict == "scam":
                    assert texts.verdict_scam in shown
                    for flag in drill.flags:
                        assert flag.quote.get(language) in shown
                        assert flag.why.get(language) in shown
                else:
                    assert texts.verdict_genuine in shown
                    assert drill.genuine_because is not None
                    assert drill.genuine_because.get(language) in shown
                expected = (
                    texts.unsure
                    if answer == "unsure"
                    else texts.right
                    if answer == drill.verdict
                    else texts.wrong
                )
                assert expected in shown


def test_every_drill_screen_is_walked_and_fits_telegram(content: Content) -> None:
    for language in LANGUAGES:
        screens = [s for file, _, s in every_screen(content, language) if file == DRILL_FILE]
        assert content.drills is not None
        assert len(screens) == len(content.drills.drills) * 4  # asked, then each answer
        for screen in screens:
            assert len(visible_text(screen.text)) <= 4096
            assert all(len(b.data.encode()) <= 64 for row in screen.keyboard for b in row)


def test_the_next_drill_follows_the_last_one_answered(content: Content) -> None:
    book = content.drills
    assert book is not None
    assert next_drill(book, None) == (0, book.drills[0])
    assert next_drill(book, book.drills[0].id) == (1, book.drills[1])
    last = book.drills[-1].id
    assert next_drill(book, last) == (0, book.drills[0])  # round again
    assert next_drill(book, "gone-from-content") == (0, book.drills[0])


def test_accuracy_per_category_is_withheld_below_the_group_size() -> None:
    figures = category_figures(
        {
            "safe_account": CategoryTally(residents=12, answers=20, right=15),
            "task_pay": CategoryTally(residents=3, answers=3, right=1),
            "prize_fee": CategoryTally(residents=0, answers=0, right=0),
        },
        min_group=5,
    )
    by_category = {row.category: row for row in figures}
    assert set(by_category) == {"safe_account", "task_pay"}  # nobody answered prize_fee
    assert by_category["safe_account"].accuracy.value == pytest.approx(0.75)
    assert by_category["safe_account"].residents.value == 12
    small = by_category["task_pay"]
    assert small.accuracy.hidden and small.residents.hidden and small.answers.hidden
    assert small.accuracy.value is None and small.answers.value is None


def _write(content_dir: Path, drills: dict[str, object]) -> None:
    (content_dir / "drills.yaml").write_text(yaml.safe_dump(drills, allow_unicode=True), "utf-8")


def _book(**drill: object) -> dict[str, object]:
    real = yaml.safe_load((REPO / "content" / "drills.yaml").read_text("utf-8"))
    return {"texts": real["texts"], "categories": real["categories"], "drills": [drill]}


def _message(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def test_a_flag_must_quote_the_message(content_dir: Path) -> None:
    flag = {
        "category": "safe_account",
        "quote": _message("安全账户", "secure account"),
        "why": _message("公安没有安全账户。", "Police have no safe account."),
    }
    _write(
        content_dir,
        _book(
            id="x",
            kind="sms",
            verdict="scam",
            category="safe_account",
            message=_message("请转到安全账户。", "Move it to a safe account."),
            flags=[flag],
        ),
    )
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert "'secure account' is not in the en message" in caught.value.report()


def test_a_genuine_drill_must_say_why(content_dir: Path) -> None:
    _write(
        content_dir,
        _book(
            id="x",
            kind="notice",
            verdict="genuine",
            category="safe_account",
            message=_message("明天停电。", "Power is off tomorrow."),
        ),
    )
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert "genuine_because" in caught.value.report()


def test_drill_categories_must_be_the_checkers(content_dir: Path) -> None:
    book = _book(
        id="x",
        kind="notice",
        verdict="genuine",
        category="made_up",
        message=_message("明天停电。", "Power is off tomorrow."),
        genuine_because=_message("只是通知。", "It is only a notice."),
    )
    book["categories"] = [{"id": "made_up", "name": _message("编的", "Made up")}]
    _write(content_dir, book)
    catalogue = REPO / "content" / "redflags.yaml"
    if not catalogue.is_file():
        pytest.skip("the checker's catalogue is not in content/ yet")
    (content_dir / "redflags.yaml").write_bytes(catalogue.read_bytes())
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert "categories[made_up]: not a category of the checker's catalogue" in (
        caught.value.report()
    )


def test_the_render_check_catches_a_drill_button_too_wide_for_its_row(content_dir: Path) -> None:
    book = _book(
        id="x",
        kind="notice",
        verdict="genuine",
        category="safe_account",
        message=_message("明天停电。", "Power is off tomorrow."),
        genuine_because=_message("只是通知。", "It is only a notice."),
    )
    texts = book["texts"]
    assert isinstance(texts, dict)
    texts["en"]["btn_unsure"] = "🤔 I am not sure"  # 16 columns; a third of a row is 13
    _write(content_dir, book)
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert (
        "drills.yaml: drills[x] (en): button '🤔 I am not sure' is too wide for a phone: "
        "16 columns, at most 13 for each of 3 buttons in a row"
    ) in caught.value.report()
