"""Figures that can change carry a review date; past it, `finlit content check` warns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.core.checks import load_content, review_warnings
from bot.core.content import ContentError
from tests.core.test_content_checks import edit_topic

REPO = Path(__file__).resolve().parents[2]
SOURCE = {"id": "wechat", "by": {"zh": "微信支付规则", "en": "WeChat Pay rules"}, "date": "2026-01"}


def test_a_lesson_that_dates_a_figure_needs_a_review_date(content_dir: Path) -> None:
    def dated(d: dict[str, Any]) -> None:
        d["lessons"][0]["cards"][0]["en"] += " As of January 2026 the limit is 5,000 yuan."

    edit_topic(content_dir, dated)
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert [str(p) for p in caught.value.problems] == [
        "topics/mini.yaml: lessons[mini-a]: dates a figure ('as of' / 截至) but has no "
        "review_by: add the date by which to re-check it against the fact sheet"
    ]

    def reviewed(d: dict[str, Any]) -> None:
        d["lessons"][0]["review_by"] = "2027-01-31"
        d["lessons"][0]["sources"] = [SOURCE]

    edit_topic(content_dir, reviewed)
    load_content(content_dir)


def test_past_its_review_date_the_check_warns_and_still_passes(
    content_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def overdue(d: dict[str, Any]) -> None:
        d["lessons"][0]["review_by"] = "2020-01-31"
        d["lessons"][0]["sources"] = [SOURCE]
        d["lessons"][1]["quiz"][0]["review_by"] = "2020-02-29"

    edit_topic(content_dir, overdue)
    assert main(["content", "check", str(content_dir)]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning" in line]
    assert warnings == [
        "warning: topics/mini.yaml: lessons[mini-a]: review_by 2020-01-31 has passed: "
        "re-check its dated figures against the fact sheet, then move review_by on",
        "warning: topics/mini.yaml: lessons[mini-b].quiz[mini-b-q1]: review_by 2020-02-29 has "
        "passed: re-check it (facts sheet §1.1), then move review_by on",
    ]


def test_the_real_course_dates_its_changeable_lessons_and_none_is_overdue_today() -> None:
    content = load_content(REPO / "content")
    dated = {lesson.id for _, lesson in content.curriculum.lessons() if lesson.review_by}
    assert {"loans-cost", "pandao-repay", "ecny-wallet", "insurance-farm", "fraud-types"} <= dated
    assert review_warnings(content, dt.date(2026, 12, 3)) == []
    assert len(review_warnings(content, dt.date(2027, 7, 1))) == len(dated)
