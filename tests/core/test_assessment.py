"""The check-up: scores and gains on hand-computed examples, and the instrument's rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.assessment import final_is_due, gain, normalised_gain, score_sitting
from bot.core.checks import load_content
from bot.core.content import ContentError

IDS = ["mk-code", "mb-limit", "ma-family"]  # knowledge (max 1), behaviour (max 2), attitude (max 2)


def test_scores_per_dimension_with_dont_know(content_dir: Path) -> None:
    instrument = load_content(content_dir).assessment
    score = score_sitting(instrument, IDS, {"mk-code": None, "mb-limit": 1, "ma-family": 0})
    assert score.shares() == {"knowledge": 0.0, "behaviour": 0.5, "attitude": 1.0}
    assert score.dont_know == 1
    assert score.study_next == ("mini",)


def test_wrong_is_not_dont_know_and_unanswered_counts_as_nothing(content_dir: Path) -> None:
    instrument = load_content(content_dir).assessment
    score = score_sitting(instrument, IDS, {"mk-code": 1})  # wrong; two items never answered
    assert score.shares() == {"knowledge": 0.0, "behaviour": 0.0, "attitude": 0.0}
    assert score.dont_know == 0
    assert score.study_next == ("mini",)


def test_all_right(content_dir: Path) -> None:
    instrument = load_content(content_dir).assessment
    score = score_sitting(instrument, IDS, {"mk-code": 0, "mb-limit": 0, "ma-family": 0})
    assert score.shares() == {"knowledge": 1.0, "behaviour": 1.0, "attitude": 1.0}
    assert score.study_next == ()


def test_item_removed_from_the_instrument_is_ignored(content_dir: Path) -> None:
    instrument = load_content(content_dir).assessment
    score = score_sitting(instrument, ["gone", *IDS], {"gone": 0, "mk-code": 0})
    assert score.dimensions["knowledge"].max_points == 1


@pytest.mark.parametrize(
    ("pre", "post", "raw", "normalised"),
    [
        (0.25, 0.75, 0.5, 2 / 3),  # learned two thirds of what was left
        (0.0, 1.0, 1.0, 1.0),
        (0.5, 0.25, -0.25, -0.5),  # forgot some: negative gain is reported, not hidden
        (0.8, 0.8, 0.0, 0.0),
        (1.0, 1.0, 0.0, None),  # already at the maximum: undefined
        (1.0, 0.5, -0.5, None),
    ],
)
def test_gain_and_normalised_gain(
    pre: float, post: float, raw: float, normalised: float | None
) -> None:
    assert gain(pre, post) == pytest.approx(raw)
    result = normalised_gain(pre, post)
    assert result == (pytest.approx(normalised) if normalised is not None else None)


@pytest.mark.parametrize(
    ("done", "total", "due"), [(16, 33, False), (17, 33, True), (3, 6, True), (0, 0, False)]
)
def test_final_is_due_at_half_the_course(done: int, total: int, due: bool) -> None:
    assert final_is_due(done, total) is due


def edit_assessment(root: Path, change: Callable[[dict[str, Any]], object]) -> list[str]:
    path = root / "assessment.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return [str(p) for p in caught.value.problems]


def test_knowledge_item_needs_one_right_option(content_dir: Path) -> None:
    def two_right(d: dict[str, Any]) -> None:
        d["items"][0]["options"][1]["points"] = 1

    assert edit_assessment(content_dir, two_right) == [
        "assessment.yaml: items[mk-code]: a knowledge item needs exactly one right option (points: 1)"
    ]


def test_knowledge_item_needs_its_topic(content_dir: Path) -> None:
    assert edit_assessment(content_dir, lambda d: d["items"][0].pop("topic")) == [
        "assessment.yaml: items[mk-code]: a knowledge item needs the topic that teaches it"
    ]


def test_topic_must_exist(content_dir: Path) -> None:
    assert edit_assessment(content_dir, lambda d: d["items"][0].update(topic="nowhere")) == [
        "assessment.yaml: items[mk-code].topic: no topic with id 'nowhere'"
    ]


def test_an_item_naming_its_lesson_needs_the_topic_too(content_dir: Path) -> None:
    """Topics to study next are read from the item's topic, so a mapped item must name it."""
    assert edit_assessment(
        content_dir, lambda d: d["items"][1].update(lesson="mini-a", tag="pay-limit")
    ) == [
        "assessment.yaml: items[mb-limit]: an item that names a lesson needs the lesson's topic too"
    ]


def test_every_dimension_needs_items(content_dir: Path) -> None:
    assert edit_assessment(content_dir, lambda d: d["items"][2].update(dimension="behaviour")) == [
        "assessment.yaml: items: no items for: attitude"
    ]


def test_instrument_texts_are_checked_like_lessons(content_dir: Path) -> None:
    def bad(d: dict[str, Any]) -> None:
        d["items"][1]["prompt"]["en"] = "Your <p>limit</p>?"

    assert edit_assessment(content_dir, bad) == [
        "assessment.yaml: items[mb-limit].prompt.en: HTML: tag <p> is not allowed"
    ]


def test_missing_instrument(content_dir: Path) -> None:
    (content_dir / "assessment.yaml").unlink()
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert [str(p) for p in caught.value.problems] == [
        "assessment.yaml: (file): the check-up instrument is missing"
    ]


def test_real_instrument_has_about_twelve_items_on_three_dimensions() -> None:
    instrument = load_content(Path(__file__).resolve().parents[2] / "content").assessment
    dimensions = [item.dimension for item in instrument.items]
    assert 10 <= len(dimensions) <= 14
    assert dimensions.count("knowledge") >= 8
    assert {"std-interest", "std-inflation", "std-diversify"} <= {
        item.id for item in instrument.items
    }
