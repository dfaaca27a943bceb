"""Scoring and mastery, on hand-built examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.checks import load_content
from bot.core.progress import (
    LessonStatus,
    ResidentState,
    next_lesson,
    percent,
    progress_report,
    score_attempt,
    topic_status,
)


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(0, 0, 0), (1, 3, 33), (2, 3, 67), (1, 2, 50), (1, 8, 13), (3, 3, 100), (0, 5, 0)],
)
def test_percent_rounds_half_up(part: int, whole: int, expected: int) -> None:
    assert percent(part, whole) == expected


def test_score_counts_unanswered_as_missed() -> None:
    result = score_attempt(["q1", "q2", "q3", "q4"], {"q1": True, "q2": False, "q4": True})
    assert (result.right, result.total, result.missed, result.score) == (2, 4, ("q2", "q3"), 50)


def test_mastery_uses_latest_answer_and_counts_untried_questions(content_dir: Path) -> None:
    curriculum = load_content(content_dir).curriculum
    state = ResidentState(
        lesson_status={"mini-a": LessonStatus.DONE, "mini-b": LessonStatus.STARTED},
        latest_correct={"mini-a-q1": True, "mini-a-q2": False},
    )
    report = progress_report(curriculum, state)
    (row,) = report.topics
    assert (row.lessons_done, row.lessons_total, row.mastered, row.questions) == (1, 2, 1, 3)
    assert row.mastery == 33
    assert (report.mastered, report.questions, report.overall) == (1, 3, 33)
    assert report.started


def test_topic_status(content_dir: Path) -> None:
    topic = load_content(content_dir).curriculum.topics[0]
    assert topic_status(topic, ResidentState({}, {})) is LessonStatus.NEW
    assert (
        topic_status(topic, ResidentState({"mini-b": LessonStatus.STARTED}, {}))
        is LessonStatus.STARTED
    )
    done = {"mini-a": LessonStatus.DONE, "mini-b": LessonStatus.DONE}
    assert topic_status(topic, ResidentState(done, {})) is LessonStatus.DONE


def test_next_lesson_skips_done_and_wraps(content_dir: Path) -> None:
    curriculum = load_content(content_dir).curriculum

    def next_id(state: ResidentState, after: str | None) -> str | None:
        lesson = next_lesson(curriculum, state, after=after)
        return None if lesson is None else lesson.id

    fresh = ResidentState({}, {})
    assert next_id(fresh, after=None) == "mini-a"
    assert next_id(fresh, after="mini-a") == "mini-b"
    only_b_left = ResidentState({"mini-a": LessonStatus.DONE}, {})
    assert next_id(only_b_left, after="mini-b") is None
    a_left = ResidentState({"mini-b": LessonStatus.DONE}, {})
    assert next_id(a_left, after="mini-b") == "mini-a"
    all_done = ResidentState({"mini-a": LessonStatus.DONE, "mini-b": LessonStatus.DONE}, {})
    assert next_id(all_done, after=None) is None
