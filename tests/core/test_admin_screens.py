"""Administrators' screens: every one renders as Telegram takes it, in both languages."""

from __future__ import annotations

import pytest

from bot.core.admin.screens import ITEM_LINES_PER_PAGE, MESSAGE_LIMIT, item_pages, samples
from bot.core.content import Content
from bot.core.html import html_problems, visible_length, visible_text
from bot.core.i18n import LANGUAGES, Language


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_admin_screen_renders_within_telegrams_limits(
    content: Content, language: Language
) -> None:
    names = []
    for name, screen in samples(content, language):
        names.append(name)
        assert visible_text(screen.text).strip(), name
        assert html_problems(screen.text) == [], name
        assert visible_length(screen.text) <= MESSAGE_LIMIT, name
    assert len(names) == len(set(names))  # each named once, so a problem says which
    for expected in (
        "admin stats",
        "admin items page 1",
        "admin broadcast preview",
        "admin cohorts",
    ):
        assert expected in names


def row(number: int, width: int) -> dict[str, str]:
    return {
        "question": f"q{number} " + "x" * width,
        "residents": "40",
        "right": "60%",
        "wrong": "y" * 30,
        "retries": "3",
    }


def test_item_pages_hold_thirty_lines_when_they_fit(content: Content) -> None:
    pages = item_pages(content, "zh", "题目分析", [row(n, 10) for n in range(70)])
    lines = [visible_text(page.text).split("\n") for page in pages]
    assert [len(page) for page in lines] == [ITEM_LINES_PER_PAGE, ITEM_LINES_PER_PAGE, 11]
    assert lines[0][0] == "题目分析"


def test_item_pages_are_cut_before_telegrams_limit(content: Content) -> None:
    """Thirty English lines run past 4,096 characters: a page ends before it would."""
    rows = [row(n, 120) for n in range(60)]
    pages = item_pages(content, "en", "Item analysis", rows)
    assert all(visible_length(page.text) <= MESSAGE_LIMIT for page in pages)
    shown = [line for page in pages for line in visible_text(page.text).split("\n")]
    assert shown[0] == "Item analysis" and len(shown) == 61  # nothing lost, nothing repeated
    assert len(pages) > 60 // ITEM_LINES_PER_PAGE + 1
