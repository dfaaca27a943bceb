"""Aggregate literacy figures for administrators, with small-cell suppression.

Everything here works on counts that the store aggregates (it never sees an individual), so the
same code serves /stats, the command line and exports. A figure describing fewer than
``min_group`` residents is withheld (shown as "<5"), and where a group of counts adds up to a
shown total, a second cell is withheld too, so the first cannot be worked out by subtraction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from bot.core.assessment import DIMENSIONS, normalised_gain

# A suppressed figure. Kept as None so no code can accidentally add it up.
Hidden = None


@dataclasses.dataclass(frozen=True)
class Cell:
    """One published figure about ``n`` residents.

    ``value`` is None either when the figure is withheld (``hidden``) or when there is nothing
    to compute it from yet (a rate over zero residents).
    """

    value: float | int | None
    n: int
    hidden: bool = False


def cell(value: float | int | None, n: int, min_group: int) -> Cell:
    """Withhold any figure about fewer than ``min_group`` residents (zero residents is shown)."""
    if 0 < n < min_group:
        return Cell(None, n, hidden=True)
    return Cell(value, n)


def suppress_partition(counts: Mapping[str, int], min_group: int) -> dict[str, Cell]:
    """Counts that add up to a shown total: primary suppression, then complementary.

    If exactly one cell is withheld, it equals the total minus the others, so the smallest other
    non-zero cell is withheld as well.
    """
    cells = {key: cell(value, value, min_group) for key, value in counts.items()}
    hidden = [key for key, c in cells.items() if c.hidden]
    if len(hidden) == 1:
        candidates = sorted((c.n, key) for key, c in cells.items() if not c.hidden and c.n > 0)
        if candidates:
            _, key = candidates[0]
            cells[key] = Cell(None, cells[key].n, hidden=True)
    return cells


def median_from_histogram(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as {value: how many}; None when there are none."""
    total = sum(histogram.values())
    if total == 0:
        return None
    ordered = sorted(histogram.items())

    def nth(k: int) -> int:  # the k-th smallest value, 0-based
        seen = 0
        for value, count in ordered:
            seen += count
            if k < seen:
                return value
        raise IndexError(k)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


# What the store hands over: plain counts, no residents.


@dataclasses.dataclass(frozen=True)
class ReachCounts:
    residents: int
    consented: int
    active_7d: int
    active_30d: int
    new_7d: int


@dataclasses.dataclass(frozen=True, order=True)
class LessonCounts:
    lesson_id: str
    started: int
    completed: int


@dataclasses.dataclass(frozen=True, order=True)
class QuestionCounts:
    question_id: str
    lesson_id: str
    residents: int  # residents who answered it (= first tries)
    first_try_correct: int
    latest_correct: int  # residents whose latest answer is right


@dataclasses.dataclass(frozen=True)
class SittingPairs:
    """Assessment figures for one dimension over a scope."""

    baseline_n: int
    baseline_sum: float
    final_n: int
    final_sum: float
    paired_n: int  # residents with both a baseline and a final sitting
    paired_gain_sum: float
    normalised_n: int  # paired residents whose baseline was below the maximum
    normalised_sum: float
    reached_target: int  # residents whose latest sitting reached the target score


@dataclasses.dataclass(frozen=True)
class AssessmentCounts:
    dimensions: Mapping[str, SittingPairs]
    knowledge_answers: int
    dont_know_answers: int
    residents_answering: int


@dataclasses.dataclass(frozen=True)
class BreakdownCounts:
    """Residents per group of one profile question, and mean lessons completed per group."""

    question: str
    residents: Mapping[str, int]
    lessons_done: Mapping[str, int]


@dataclasses.dataclass(frozen=True)
class ScopeCounts:
    reach: ReachCounts
    lessons: Sequence[LessonCounts]
    questions: Sequence[QuestionCounts]
    lessons_per_active: Mapping[int, int]  # {lessons completed: active residents}
    assessment: AssessmentCounts
    breakdowns: Sequence[BreakdownCounts]


# What administrators see.


@dataclasses.dataclass(frozen=True)
class TopicFigures:
    topic_id: str
    started: Cell
    completed: Cell
    completion_rate: Cell
    first_try_accuracy: Cell
    latest_accuracy: Cell


@dataclasses.dataclass(frozen=True)
class HardQuestion:
    question_id: str
    latest_accuracy: float
    residents: int


@dataclasses.dataclass(frozen=True)
class DimensionFigures:
    dimension: str
    baseline_mean: Cell
    final_mean: Cell
    mean_gain: Cell
    mean_normalised_gain: Cell
    reached_target: Cell  # share of residents whose latest sitting reached the target


@dataclasses.dataclass(frozen=True)
class GroupFigures:
    residents: Cell
    mean_lessons: Cell


@dataclasses.dataclass(frozen=True)
class StatsReport:
    scope: str  # "all" or a cohort's name
    min_group: int
    residents: Cell
    consented: Cell
    active_7d: Cell
    active_30d: Cell
    new_7d: Cell
    topics: tuple[TopicFigures, ...]
    median_lessons_per_active: Cell
    hardest: tuple[HardQuestion, ...]
    dimensions: tuple[DimensionFigures, ...]
    dont_know_rate: Cell
    breakdowns: Mapping[str, Mapping[str, GroupFigures]]


TARGET_SCORE = 0.7  # a sitting "reaches the target" at 70% of a dimension's points


def build_report(
    scope: str,
    counts: ScopeCounts,
    topic_lessons: Mapping[str, Sequence[str]],
    *,
    min_group: int,
) -> StatsReport:
    """Turn the store's counts into the published report, withholding small groups."""
    k = min_group
    reach = counts.reach
    by_lesson = {row.lesson_id: row for row in counts.lessons}
    by_question_lesson: dict[str, list[QuestionCounts]] = {}
    for q in counts.questions:
        by_question_lesson.setdefault(q.lesson_id, []).append(q)

    topics = []
    for topic_id, lesson_ids in topic_lessons.items():
        started = sum(by_lesson[lid].started for lid in lesson_ids if lid in by_lesson)
        completed = sum(by_lesson[lid].completed for lid in lesson_ids if lid in by_lesson)
        questions = [q for lid in lesson_ids for q in by_question_lesson.get(lid, [])]
        answers = sum(q.residents for q in questions)
        # Distinct residents behind the accuracy are at least the busiest question's residents:
        # a lower bound, so withholding on it never shows a smaller group than allowed.
        behind = max((q.residents for q in questions), default=0)
        first = sum(q.first_try_correct for q in questions) / answers if answers else None
        latest = sum(q.latest_correct for q in questions) / answers if answers else None
        topics.append(
            TopicFigures(
                topic_id=topic_id,
                started=cell(started, started, k),
                completed=cell(completed, completed, k),
                completion_rate=cell(completed / started if started else None, started, k),
                first_try_accuracy=cell(first, behind, k),
                latest_accuracy=cell(latest, behind, k),
            )
        )

    active = sum(counts.lessons_per_active.values())
    hardest = sorted(
        (
            HardQuestion(q.question_id, q.latest_correct / q.residents, q.residents)
            for q in counts.questions
            if q.residents >= k
        ),
        key=lambda h: (h.latest_accuracy, -h.residents, h.question_id),
    )[:3]

    dimensions = []
    for dimension in DIMENSIONS:
        pairs = counts.assessment.dimensions.get(dimension)
        if pairs is None:
            continue
        dimensions.append(
            DimensionFigures(
                dimension=dimension,
                baseline_mean=cell(
                    _mean(pairs.baseline_sum, pairs.baseline_n), pairs.baseline_n, k
                ),
                final_mean=cell(_mean(pairs.final_sum, pairs.final_n), pairs.final_n, k),
                mean_gain=cell(_mean(pairs.paired_gain_sum, pairs.paired_n), pairs.paired_n, k),
                mean_normalised_gain=cell(
                    _mean(pairs.normalised_sum, pairs.normalised_n), pairs.normalised_n, k
                ),
                # Every resident with a sitting has a baseline (the first sitting is one).
                reached_target=cell(
                    _mean(pairs.reached_target, pairs.baseline_n), pairs.baseline_n, k
                ),
            )
        )
    a = counts.assessment
    return StatsReport(
        scope=scope,
        min_group=k,
        residents=cell(reach.residents, reach.residents, k),
        consented=cell(reach.consented, reach.consented, k),
        active_7d=cell(reach.active_7d, reach.active_7d, k),
        active_30d=cell(reach.active_30d, reach.active_30d, k),
        new_7d=cell(reach.new_7d, reach.new_7d, k),
        topics=tuple(topics),
        median_lessons_per_active=cell(median_from_histogram(counts.lessons_per_active), active, k),
        hardest=tuple(hardest),
        dimensions=tuple(dimensions),
        dont_know_rate=cell(
            a.dont_know_answers / a.knowledge_answers if a.knowledge_answers else None,
            a.residents_answering,
            k,
        ),
        breakdowns={b.question: _groups(b, k) for b in counts.breakdowns},
    )


def _groups(counts: BreakdownCounts, k: int) -> dict[str, GroupFigures]:
    """Residents per group (a partition of the total) and each group's mean lessons completed;
    a group's mean is withheld whenever its size is."""
    sizes = suppress_partition(counts.residents, k)
    return {
        group: GroupFigures(
            residents=size,
            mean_lessons=Cell(None, size.n, hidden=True)
            if size.hidden
            else Cell(_mean(counts.lessons_done.get(group, 0), size.n), size.n),
        )
        for group, size in sizes.items()
    }


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


def pair_gain(pre: float, post: float) -> tuple[float, float | None]:
    """One resident's gain and normalised gain (None when the baseline was the maximum)."""
    return post - pre, normalised_gain(pre, post)
