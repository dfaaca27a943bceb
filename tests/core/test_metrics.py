"""Administrators' figures on small hand-built counts, checked by hand."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.literacy import (
    AssessmentCounts,
    BreakdownCounts,
    Cell,
    LessonCounts,
    QuestionCounts,
    ReachCounts,
    ScopeCounts,
    SittingPairs,
    build_report,
    median_from_histogram,
    suppress_partition,
)

TOPICS = {"pay": ["pay-a", "pay-b"], "fraud": ["fraud-a"]}
NO_SITTINGS = SittingPairs(0, 0.0, 0, 0.0, 0, 0.0, 0, 0.0, 0)


def counts(*, assessment: AssessmentCounts | None = None) -> ScopeCounts:
    base = ScopeCounts(
        reach=ReachCounts(residents=40, consented=38, active_7d=12, active_30d=30, new_7d=3),
        lessons=[
            LessonCounts("fraud-a", started=4, completed=2),
            LessonCounts("pay-a", started=20, completed=15),
            LessonCounts("pay-b", started=10, completed=5),
        ],
        questions=[
            # pay: 20 residents on q1 (first try 10 right, latest 16), 10 on q2 (5 / 9)
            QuestionCounts(
                "pay-a-q1", "pay-a", residents=20, first_try_correct=10, latest_correct=16
            ),
            QuestionCounts(
                "pay-b-q1", "pay-b", residents=10, first_try_correct=5, latest_correct=9
            ),
            QuestionCounts(
                "fraud-a-q1", "fraud-a", residents=4, first_try_correct=1, latest_correct=2
            ),
        ],
        lessons_per_active={0: 10, 1: 8, 2: 7, 3: 5},
        assessment=AssessmentCounts(
            dimensions={
                # 10 baselines (sum 4.0), 6 finals (sum 4.5), 6 pairs with gains summing 1.8,
                # 5 of them below the maximum with normalised gains summing 2.5; 7 reached 70%.
                "knowledge": SittingPairs(10, 4.0, 6, 4.5, 6, 1.8, 5, 2.5, 7),
                "behaviour": SittingPairs(10, 5.0, 3, 2.4, 3, 0.6, 3, 1.2, 4),
                "attitude": NO_SITTINGS,
            },
            knowledge_answers=16 * 8,
            dont_know_answers=16,
            residents_answering=10,
        ),
        breakdowns=[
            BreakdownCounts(
                "age_band",
                residents={"18-39": 20, "40-64": 12, "65+": 3, "not_given": 3},
                lessons_done={"18-39": 30, "40-64": 12, "65+": 6, "not_given": 0},
            )
        ],
    )
    return base if assessment is None else dataclasses.replace(base, assessment=assessment)


def test_reach_and_depth() -> None:
    report = build_report("all", counts(), TOPICS, min_group=5)
    assert (report.residents.value, report.active_7d.value, report.new_7d.hidden) == (40, 12, True)
    pay, fraud = report.topics
    assert (pay.started.value, pay.completed.value) == (30, 20)
    assert pay.completion_rate.value == pytest.approx(20 / 30)
    assert fraud.started.hidden and fraud.completed.hidden and fraud.completion_rate.hidden
    # 30 active residents: 10 with 0 lessons, 8 with 1, 7 with 2, 5 with 3 -> median 1
    assert report.median_lessons_per_active.value == 1.0


def test_mastery_first_try_and_latest() -> None:
    pay = build_report("all", counts(), TOPICS, min_group=5).topics[0]
    assert pay.first_try_accuracy.value == pytest.approx(15 / 30)
    assert pay.latest_accuracy.value == pytest.approx(25 / 30)


def test_hardest_questions_skip_small_groups() -> None:
    report = build_report("all", counts(), TOPICS, min_group=5)
    # fraud-a-q1 (2/4 = 50%) describes only 4 residents, so it is not listed.
    assert [(h.question_id, h.latest_accuracy) for h in report.hardest] == [
        ("pay-a-q1", 0.8),
        ("pay-b-q1", 0.9),
    ]


def test_assessment_means_gains_and_dont_know() -> None:
    report = build_report("all", counts(), TOPICS, min_group=5)
    knowledge, behaviour, attitude = report.dimensions
    assert knowledge.baseline_mean.value == pytest.approx(0.4)
    assert knowledge.final_mean.value == pytest.approx(0.75)
    assert knowledge.mean_gain.value == pytest.approx(0.3)
    assert knowledge.mean_normalised_gain.value == pytest.approx(0.5)
    assert knowledge.reached_target.value == pytest.approx(0.7)
    # Only 3 residents took the final behaviour part: withheld, not shown.
    assert behaviour.final_mean.hidden and behaviour.mean_gain.hidden
    assert behaviour.baseline_mean.value == pytest.approx(0.5)
    # No sittings at all: nothing to show, and nothing withheld either.
    assert attitude.baseline_mean == Cell(None, 0) and not attitude.baseline_mean.hidden
    assert report.dont_know_rate.value == pytest.approx(16 / 128)


def test_no_final_tests_yet() -> None:
    pairs = SittingPairs(8, 4.0, 0, 0.0, 0, 0.0, 0, 0.0, 2)
    assessment = AssessmentCounts({"knowledge": pairs}, 64, 0, 8)
    (knowledge,) = build_report(
        "all", counts(assessment=assessment), TOPICS, min_group=5
    ).dimensions
    assert knowledge.baseline_mean.value == 0.5
    assert knowledge.final_mean == Cell(None, 0)
    assert knowledge.mean_gain == Cell(None, 0)


def test_everyone_at_maximum_baseline_has_no_normalised_gain() -> None:
    # Six paired residents, all at the maximum before: the gain is 0, normalised gain undefined.
    pairs = SittingPairs(6, 6.0, 6, 6.0, 6, 0.0, 0, 0.0, 6)
    assessment = AssessmentCounts({"knowledge": pairs}, 48, 0, 6)
    (knowledge,) = build_report(
        "all", counts(assessment=assessment), TOPICS, min_group=5
    ).dimensions
    assert knowledge.mean_gain.value == 0.0
    assert knowledge.mean_normalised_gain == Cell(None, 0)
    assert not knowledge.mean_normalised_gain.hidden


def test_breakdown_has_complementary_suppression() -> None:
    (groups,) = build_report("all", counts(), TOPICS, min_group=5).breakdowns.values()
    # 65+ (3) and not_given (3) are both under 5: withheld; the others are shown.
    assert groups["65+"].residents.hidden and groups["not_given"].residents.hidden
    assert groups["18-39"].residents.value == 20
    assert groups["18-39"].mean_lessons.value == 1.5
    assert groups["65+"].mean_lessons.hidden


def test_a_single_small_group_takes_another_with_it() -> None:
    cells = suppress_partition({"a": 20, "b": 12, "c": 3, "d": 0}, 5)
    # c alone would be 35 - 20 - 12 = 3 from the total: the smallest other non-empty group goes.
    assert {k: v.hidden for k, v in cells.items()} == {"a": False, "b": True, "c": True, "d": False}


def test_nothing_to_suppress() -> None:
    cells = suppress_partition({"a": 20, "b": 12}, 5)
    assert [c.value for c in cells.values()] == [20, 12]


@pytest.mark.parametrize(
    ("histogram", "median"),
    [
        ({}, None),
        ({3: 1}, 3.0),
        ({1: 1, 2: 1}, 1.5),
        ({0: 2, 5: 1}, 0.0),
        ({0: 1, 2: 1, 9: 2}, 5.5),
    ],
)
def test_median_from_histogram(histogram: dict[int, int], median: float | None) -> None:
    assert median_from_histogram(histogram) == median


def test_a_larger_minimum_group_withholds_more() -> None:
    report = build_report("all", counts(), TOPICS, min_group=15)
    assert report.active_7d.hidden and not report.residents.hidden
    assert report.topics[0].latest_accuracy.value is not None  # 20 residents on pay-a-q1
