"""How fast administrators' /stats answers at province scale, and what it costs in memory.

A program, not a test: it generates a seeded synthetic population in a fresh SQLite file (real
lesson, question and check-up ids from ``content/``), rebuilds the statistics' aggregates from
the raw rows, then times the fast path (``scope_counts``, which reads the aggregates) against the
baseline (``raw_scope_counts``, plain GROUP BYs over raw answers) for the whole population and
for one cohort, checks that both give identical figures, and prints a small table.

    python bench/stats.py [--residents 100000] [--answers 5000000] [--cohort-share 0.05]
                          [--repeat 15] [--db PATH] [--seed 2026] [--keep] [--reuse] [--explain]

Both populations (the full one and a 10x smaller one, used to show that the fast path's
memory does not grow with the number of residents) are generated in child processes, so the
measuring process's peak RSS is not inflated by generation.

Then, for each population in a fresh process (unless ``--no-export``): /stats for everyone and
for the cohort, and one answer-level /export of every answer through the administrators' desk
(exactly what /export runs), while a resident opens a lesson card every 20 ms: the export's
time, size and the process's peak RSS, and how long the resident's writes took while idle and
while the export ran (the export reads on its own connection; residents' writes go on). For
the issue's figures at 1 M answers:

    python bench/stats.py --residents 20000 --answers 1000000 --repeat 9

With ``--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres`` (a server; the
benchmark creates a database of its own there and drops it, unless ``--keep``), the same
population is copied into PostgreSQL (bench/stats_postgres.py: COPY) and /stats is timed there
too, side by side with SQLite, checking that both give identical figures:

    python bench/stats.py --no-export --database-url postgresql+asyncpg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import math
import multiprocessing
import os
import platform
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from bot.core.admin import AdminDesk
from bot.core.assessment import DIMENSIONS
from bot.core.checks import load_content
from bot.core.html import visible_text
from bot.core.literacy import ScopeCounts, StatsReport, build_report
from bot.pictures import Pictures
from bot.store import Store, schema
from bot.store.aggregates import rebuild_statements
from bot.store.reports import Reports
from bot.store.scope_counts import raw_scope_counts, scope_counts

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for bench.stats_postgres: the repository is not installed

from bench import stats_postgres  # noqa: E402
from bench.postgres import database_url  # noqa: E402

CONTENT = ROOT / "content"
# A fixed "now" keeps a seeded run reproducible (activity windows are counted back from it).
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
HISTORY_DAYS = 180
MIN_GROUP = 5
BENCHMARK_COHORT_ID = 1
COHORTS = 20
SLOW_FAST_PATH_MS = 500.0  # above this, the per-query breakdown is printed without --explain

# The population's shape.
CONSENT_SHARE = 0.90
PROFILE_SHARE = 0.60  # each optional profile question is answered by this share of consenters
AGE_BANDS = ("18-39", "40-64", "65+")
RESIDENT_TYPES = ("rural", "new_urban", "other")
LEARNER_SHARE = 0.85  # consenters who answer at least one question
BASELINE_SHARE = 0.50  # of all residents: a finished baseline check-up
FINAL_SHARE = 0.20  # of all residents: a finished final check-up as well
ABANDON_LESSON = 0.08  # a lesson started and left before its quiz
RETRY_MISSED = 0.6  # after a quiz with mistakes, the resident retries the missed questions
NEW_SESSION = 0.4  # the next lesson is taken up in a later session (hours or days later)

T = TypeVar("T")


# The curriculum and check-up, reduced to what generation needs (plain data, picklable).


@dataclasses.dataclass(frozen=True)
class QuizQuestion:
    id: str
    options: int
    correct: int


@dataclasses.dataclass(frozen=True)
class LessonShape:
    id: str
    cards: int
    questions: tuple[QuizQuestion, ...]


@dataclasses.dataclass(frozen=True)
class Shape:
    """The real content's ids and sizes."""

    lessons: tuple[LessonShape, ...]
    topic_lessons: Mapping[str, tuple[str, ...]]
    item_ids: tuple[str, ...]
    dimension_points: Mapping[str, int]  # the maximum points of each dimension
    knowledge_items: int


def load_shape() -> Shape:
    content = load_content(CONTENT)
    lessons = tuple(
        LessonShape(
            id=lesson.id,
            cards=len(lesson.cards),
            questions=tuple(
                QuizQuestion(q.id, len(q.options), q.correct_index) for q in lesson.quiz
            ),
        )
        for _, lesson in content.curriculum.lessons()
    )
    items = content.assessment.items
    return Shape(
        lessons=lessons,
        topic_lessons={
            topic.id: tuple(lesson.id for lesson in topic.lessons)
            for topic in content.curriculum.topics
        },
        item_ids=tuple(item.id for item in items),
        dimension_points={
            d: sum(item.max_points for item in items if item.dimension == d) for d in DIMENSIONS
        },
        knowledge_items=sum(1 for item in items if item.dimension == "knowledge"),
    )


# Generation.


@dataclasses.dataclass(frozen=True)
class Params:
    residents: int
    answers: int
    cohort_share: float
    seed: int


@dataclasses.dataclass(frozen=True)
class Generated:
    """What a generation run produced, and how long each phase took."""

    params: Params
    rows: Mapping[str, int]
    insert_s: float
    rebuild_s: float
    analyze_s: float
    cohort_name: str
    cohort_size: int

    @property
    def total_s(self) -> float:
        return self.insert_s + self.rebuild_s + self.analyze_s


_BASE = NOW.replace(tzinfo=None) - dt.timedelta(days=HISTORY_DAYS)
_SPAN_S = HISTORY_DAYS * 86400.0


def _ts(seconds: float) -> str:
    """A moment ``seconds`` after the start of the history, as SQLAlchemy stores it in SQLite."""
    moment = _BASE + dt.timedelta(microseconds=int(seconds * 1_000_000))
    return moment.isoformat(sep=" ", timespec="microseconds")


@dataclasses.dataclass
class Basics:
    """One resident's facts decided before their learning is simulated (seconds into history)."""

    id: int
    created: float
    last_seen: float
    consent: float | None
    budget: int  # exactly how many quiz answers they give


def _budgets(rng: random.Random, learners: int, total: int) -> list[int]:
    """``learners`` heavy-tailed answer counts (at least one each) adding up to ``total``."""
    if learners == 0:
        return []
    weights = [rng.lognormvariate(0.0, 0.9) for _ in range(learners)]
    spare = total - learners
    scale = spare / sum(weights)
    out, cumulative, given = [], 0.0, 0
    for weight in weights:  # cumulative rounding: the sum is exact
        cumulative += weight * scale
        share = round(cumulative) - given
        given += share
        out.append(1 + share)
    return out


def _basics(rng: random.Random, params: Params) -> list[Basics]:
    ids = sorted(rng.sample(range(100_000_000, 8_000_000_000), params.residents))
    residents: list[Basics] = []
    for rid in ids:
        created = rng.random() * _SPAN_S
        last_seen = created + (_SPAN_S - created) * rng.random() ** 0.7
        consent = None
        if rng.random() < CONSENT_SHARE:
            consent = min(created + rng.uniform(5, 120), _SPAN_S)
            last_seen = max(last_seen, consent)
        residents.append(Basics(rid, created, last_seen, consent, 0))
    consenters = [r for r in residents if r.consent is not None]
    learners = [r for r in consenters if rng.random() < LEARNER_SHARE][: params.answers]
    if not learners and consenters and params.answers:
        learners = consenters[:1]
    if params.answers and not learners:
        raise SystemExit("no resident to give answers to: use more residents")
    for resident, budget in zip(
        learners, _budgets(rng, len(learners), params.answers), strict=True
    ):
        resident.budget = budget
    return residents


# The columns each table's rows carry, in the order of the row tuples below.
COLUMNS = {
    schema.residents: (
        "id",
        "language",
        "consent_at",
        "created_at",
        "last_seen_at",
        "age_band",
        "resident_type",
    ),
    schema.lesson_progress: (
        "resident_id",
        "lesson_id",
        "card_index",
        "status",
        "started_at",
        "updated_at",
        "completed_at",
    ),
    schema.quiz_attempts: (
        "id",
        "resident_id",
        "lesson_id",
        "kind",
        "question_ids",
        "position",
        "started_at",
        "updated_at",
        "finished_at",
    ),
    schema.answers: (
        "id",
        "attempt_id",
        "resident_id",
        "lesson_id",
        "question_id",
        "option_index",
        "correct",
        "try_number",
        "answered_at",
    ),
    schema.assessment_sittings: (
        "id",
        "resident_id",
        "kind",
        "item_ids",
        "position",
        "started_at",
        "updated_at",
        "finished_at",
        "knowledge_score",
        "behaviour_score",
        "attitude_score",
        "dont_know_count",
    ),
    schema.cohorts: ("id", "code", "name", "created_by", "created_at"),
    schema.cohort_members: ("cohort_id", "resident_id", "joined_at"),
}


def insert_sql(table: sa.Table, columns: Sequence[str]) -> str:
    """The table's INSERT (SQLAlchemy Core) for ``columns``, compiled once for SQLite.

    Rows go to sqlite3's ``executemany`` as tuples of already-formatted values: the same
    statement through SQLAlchemy's executemany, with a dict and type processing per row, makes
    generating millions of rows about twice as slow.
    """
    compiled = sa.insert(table).compile(dialect=sqlite.dialect(), column_keys=list(columns))
    if list(compiled.positiontup or ()) != list(columns):
        raise AssertionError(f"{table.name}: columns must be in the table's order")
    return str(compiled)


INSERTS = {table.name: insert_sql(table, columns) for table, columns in COLUMNS.items()}


class Population:
    """Simulates residents one by one into row buffers, flushed to SQLite in big batches."""

    def __init__(self, shape: Shape, rng: random.Random) -> None:
        self.shape = shape
        self.rng = rng
        self.rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in INSERTS}
        self.counts = dict.fromkeys(INSERTS, 0)
        self.next_attempt = 1
        self.next_answer = 1
        self.next_sitting = 1
        # How hard each question is (subtracted from a resident's chance of answering right).
        self.difficulty = {
            q.id: rng.uniform(-0.1, 0.3) for lesson in shape.lessons for q in lesson.questions
        }
        self.items_json = json.dumps(list(shape.item_ids))
        self.quiz_json = {
            lesson.id: json.dumps([q.id for q in lesson.questions]) for lesson in shape.lessons
        }

    def flush(self, db: sqlite3.Connection) -> None:
        for table, rows in self.rows.items():
            if rows:
                db.executemany(INSERTS[table], rows)
                self.counts[table] += len(rows)
                rows.clear()

    def resident(self, r: Basics) -> None:
        rng = self.rng
        age = resident_type = None
        if r.consent is not None:
            if rng.random() < PROFILE_SHARE:
                age = rng.choice(AGE_BANDS)
            if rng.random() < PROFILE_SHARE:
                resident_type = rng.choice(RESIDENT_TYPES)
        self.rows["residents"].append(
            (
                r.id,
                "zh" if rng.random() < 0.85 else "en",
                None if r.consent is None else _ts(r.consent),
                _ts(r.created),
                _ts(r.last_seen),
                age,
                resident_type,
            )
        )
        if r.consent is None:
            return
        ability = rng.uniform(0.45, 0.95)
        # Learning happens between the baseline check-up (if any) and the last visit.
        start = min(r.consent + 600.0, r.last_seen)
        lessons_done = 0
        if r.budget or rng.random() < 0.3:
            lessons_done = self._learn(r.id, r.budget, ability, start, r.last_seen)
        self._check_ups(r, ability, lessons_done)

    def _learn(self, rid: int, budget: int, ability: float, start: float, end: float) -> int:
        """Lessons, quizzes and retries giving exactly ``budget`` answers; returns lessons done.

        Times are first kept as raw offsets (gaps of seconds within a session, hours or days
        between sessions), then stretched to fit between ``start`` and ``end``.
        """
        rng = self.rng
        lessons = self.shape.lessons
        progress: dict[str, list[Any]] = {}  # lesson id -> [card, status, started, updated, done]
        attempts: list[list[Any]] = []  # [id, lesson, kind, ids json, position, start, upd, fin]
        given: list[list[Any]] = []  # [id, attempt, lesson, question, option, correct, try, at]
        tries: dict[str, int] = {}
        t = 0.0
        first_time = True
        while budget > 0 or first_time:
            first_time = False
            t += rng.expovariate(1 / 86400) if rng.random() < NEW_SESSION else rng.uniform(30, 300)
            fresh = [lesson for lesson in lessons if lesson.id not in progress]
            if fresh:
                lesson = fresh[0] if rng.random() < 0.8 else rng.choice(fresh)
                started = t
                t += lesson.cards * rng.uniform(10, 60)
                if rng.random() < ABANDON_LESSON or budget == 0:
                    progress[lesson.id] = [rng.randrange(lesson.cards), "started", started, t, None]
                    continue
                progress[lesson.id] = [lesson.cards - 1, "started", started, t, None]
            else:  # everything started: take a random lesson's quiz again
                lesson = rng.choice(lessons)
            kind, questions = "full", lesson.questions
            while questions and budget > 0:
                attempt_id = self.next_attempt
                self.next_attempt += 1
                attempt: list[Any] = [
                    attempt_id,
                    lesson.id,
                    kind,
                    self.quiz_json[lesson.id]
                    if kind == "full"
                    else json.dumps([q.id for q in questions]),
                    0,
                    t,
                    t,
                    None,
                ]
                attempts.append(attempt)
                missed = []
                for q in questions:
                    if budget == 0:
                        break
                    t += rng.uniform(5, 40)
                    try_number = tries.get(q.id, 0) + 1
                    tries[q.id] = try_number
                    chance = ability - self.difficulty[q.id] + (0.15 if try_number > 1 else 0.0)
                    right = rng.random() < chance
                    option = q.correct
                    if not right:
                        option = rng.randrange(q.options - 1)
                        option += option >= q.correct
                        missed.append(q)
                    given.append(
                        [
                            self.next_answer,
                            attempt_id,
                            lesson.id,
                            q.id,
                            option,
                            right,
                            try_number,
                            t,
                        ]
                    )
                    self.next_answer += 1
                    budget -= 1
                    attempt[4] += 1
                    attempt[6] = t
                if attempt[4] < len(questions):
                    break  # out of answers mid-quiz: the sitting stays open
                t += 1.0
                attempt[7] = t
                row = progress.get(lesson.id)
                if kind == "full" and row is not None and row[1] != "done":
                    row[1], row[3], row[4] = "done", t, t
                kind, questions = "retry", tuple(missed) if rng.random() < RETRY_MISSED else ()
        scale = (end - start) / t if t > 0 else 0.0

        def at(raw: float | None) -> str | None:
            return None if raw is None else _ts(start + raw * scale)

        self.rows["lesson_progress"].extend(
            (rid, lesson_id, card, status, at(s), at(u), at(d))
            for lesson_id, (card, status, s, u, d) in progress.items()
        )
        self.rows["quiz_attempts"].extend(
            (a[0], rid, a[1], a[2], a[3], a[4], at(a[5]), at(a[6]), at(a[7])) for a in attempts
        )
        self.rows["answers"].extend(
            (g[0], g[1], rid, g[2], g[3], g[4], g[5], g[6], at(g[7])) for g in given
        )
        return sum(1 for row in progress.values() if row[1] == "done")

    def _check_ups(self, r: Basics, ability: float, lessons_done: int) -> None:
        """A baseline check-up at consent for about half, a final one at the last visit."""
        rng = self.rng
        assert r.consent is not None
        if rng.random() >= BASELINE_SHARE / CONSENT_SHARE:
            if rng.random() < 0.05:  # started the baseline, never finished it
                self._sitting(r.id, "baseline", r.consent + 30, None, ability)
            return
        baseline_end = r.consent + 300
        self._sitting(r.id, "baseline", r.consent + 30, baseline_end, ability)
        final_chance = FINAL_SHARE / BASELINE_SHARE * (1.3 if lessons_done >= 10 else 0.8)
        if rng.random() >= final_chance:
            if rng.random() < 0.1:  # an unfinished final
                self._sitting(r.id, "final", max(baseline_end, r.last_seen - 200), None, ability)
            return
        taught = min(0.3, 0.02 * lessons_done)
        if rng.random() < 0.1:  # an earlier final; only the latest one counts
            mid = (baseline_end + r.last_seen) / 2
            self._sitting(r.id, "final", mid, mid + 300, ability + taught / 2)
        begin = max(baseline_end, r.last_seen - 400)
        self._sitting(r.id, "final", begin, max(begin, r.last_seen), ability + taught)

    def _sitting(
        self, rid: int, kind: str, begin: float, end: float | None, ability: float
    ) -> None:
        rng = self.rng
        scores: list[float | None] = [None, None, None]
        dont_know: int | None = None
        position = rng.randrange(len(self.shape.item_ids))
        if end is not None:
            position = len(self.shape.item_ids)
            k = self.shape.knowledge_items
            right = sum(rng.random() < ability for _ in range(k))
            dont_know = sum(rng.random() < 0.3 for _ in range(k - right))
            scores = [right / k]
            for dimension in ("behaviour", "attitude"):
                top = self.shape.dimension_points[dimension]
                scores.append(sum(rng.random() < ability for _ in range(top)) / top)
        sitting_id = self.next_sitting
        self.next_sitting += 1
        self.rows["assessment_sittings"].append(
            (
                sitting_id,
                rid,
                kind,
                self.items_json,
                position,
                _ts(begin),
                _ts(begin if end is None else end),
                None if end is None else _ts(end),
                *scores,
                dont_know,
            )
        )

    def cohorts(self, residents: Sequence[Basics], share: float) -> tuple[str, int]:
        """The benchmark cohort (``share`` of all residents) and smaller ones; its name, size."""
        rng = self.rng
        consenters = [r for r in residents if r.consent is not None]
        n = len(residents)
        sizes = [min(len(consenters), round(share * n))]
        sizes += [min(len(consenters), rng.randint(max(5, n // 1000), max(10, n // 50)))]
        sizes += [min(len(consenters), rng.randint(5, max(10, n // 200))) for _ in range(18)]
        name = f"Benchmark cohort ({sizes[0]:,} residents)"
        for index, size in enumerate(sizes[:COHORTS], start=1):
            members = sorted(rng.sample(consenters, size), key=lambda r: r.id)
            joined = {m.id: (m.consent or 0.0) + 1.0 for m in members}  # at consent, by the link
            created = max(0.0, min(joined.values(), default=_SPAN_S) - rng.uniform(3600, 86400))
            label = name if index == BENCHMARK_COHORT_ID else f"Village {index:02d}"
            self.rows["cohorts"].append((index, f"bench{index:02d}", label, 1, _ts(created)))
            self.rows["cohort_members"].extend((index, rid, _ts(at)) for rid, at in joined.items())
        return name, sizes[0]


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".params.json")


def database_files(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in ("", "-wal", "-shm", "-journal")] + [
        _sidecar(path)
    ]


async def _create_schema(path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    await store.close()


def generate(path: Path, params: Params) -> Generated:
    """Write a fresh population into ``path``: schema by the migrations, rows by executemany."""
    for file in database_files(path):
        file.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(_create_schema(path))
    shape = load_shape()
    rng = random.Random(params.seed)
    started = time.perf_counter()
    residents = _basics(rng, params)
    population = Population(shape, rng)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache while loading
    db.execute("BEGIN")
    name, size = population.cohorts(residents, params.cohort_share)
    for index, resident in enumerate(residents, start=1):
        population.resident(resident)
        if index % 5000 == 0:
            population.flush(db)
        if index % 50_000 == 0:
            db.execute("COMMIT")
            db.execute("BEGIN")
    population.flush(db)
    db.execute("COMMIT")
    db.close()
    if population.counts["answers"] != params.answers:
        raise AssertionError(f"generated {population.counts['answers']} answers")
    inserted = time.perf_counter()

    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-1000000")
        conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
        for statement in rebuild_statements():
            conn.execute(statement)
    engine.dispose()
    rebuilt = time.perf_counter()

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = table_rows(db)
    db.close()
    done = time.perf_counter()
    generated = Generated(
        params=params,
        rows=rows,
        insert_s=inserted - started,
        rebuild_s=rebuilt - inserted,
        analyze_s=done - rebuilt,
        cohort_name=name,
        cohort_size=size,
    )
    _sidecar(path).write_text(json.dumps(dataclasses.asdict(generated)))
    return generated


def reuse(path: Path, params: Params) -> Generated | None:
    """The earlier generation of ``path`` if it was made with the same parameters."""
    try:
        saved = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return None
    if not path.is_file() or saved.get("params") != dataclasses.asdict(params):
        return None
    saved["params"] = params
    return Generated(**saved)


MAIN_TABLES = (
    "residents",
    "answers",
    "lesson_progress",
    "quiz_attempts",
    "latest_answers",
    "assessment_sittings",
    "cohort_members",
)


def table_rows(db: sqlite3.Connection) -> dict[str, int]:
    return {t: int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in MAIN_TABLES}


# Measurement.


@dataclasses.dataclass(frozen=True)
class Timing:
    label: str
    seconds: list[float]

    @property
    def median_ms(self) -> float:
        ordered = sorted(self.seconds)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle] * 1000
        return (ordered[middle - 1] + ordered[middle]) / 2 * 1000

    @property
    def p95_ms(self) -> float:
        """Nearest-rank 95th percentile (with 15 runs: the slowest)."""
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


CountsFn = Callable[..., Any]


class Bench:
    """Runs the /stats computation the way the app would: a fresh connection from the pool."""

    def __init__(self, store: Store, shape: Shape, cohort_name: str) -> None:
        self.store = store
        self.shape = shape
        self.cohort_name = cohort_name

    async def report(
        self, counts_fn: CountsFn, cohort_id: int | None
    ) -> tuple[ScopeCounts, StatsReport]:
        async with self.store.engine.connect() as conn:
            counts: ScopeCounts = await counts_fn(
                conn, cohort_id, now=NOW, knowledge_items=self.shape.knowledge_items
            )
        scope = "all" if cohort_id is None else self.cohort_name
        return counts, build_report(scope, counts, self.shape.topic_lessons, min_group=MIN_GROUP)

    async def time(
        self, label: str, counts_fn: CountsFn, cohort_id: int | None, repeat: int
    ) -> tuple[Timing, tuple[ScopeCounts, StatsReport]]:
        result = await self.report(counts_fn, cohort_id)  # warm-up
        seconds = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = await self.report(counts_fn, cohort_id)
            seconds.append(time.perf_counter() - started)
        return Timing(label, seconds), result


def first_difference(a: Any, b: Any, path: str) -> str | None:
    """Where two nested dataclasses, mappings or sequences first differ, or None if equal."""
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        for field in dataclasses.fields(a):
            found = first_difference(getattr(a, field.name), getattr(b, field.name), field.name)
            if found:
                return f"{path}.{found}"
        return None
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                return f"{path}[{key!r}]: only in {'fast' if key in a else 'baseline'}"
            found = first_difference(a[key], b[key], f"[{key!r}]")
            if found:
                return f"{path}{found}"
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"[{index}]")
            if found:
                return f"{path}{found}"
        if len(a) != len(b):
            return f"{path}: {len(a)} items (fast) vs {len(b)} (baseline)"
        return None
    if isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12):
        return None  # sums of scores added up in another order (SQLite and PostgreSQL)
    return None if a == b else f"{path}: {a!r} (fast) vs {b!r} (baseline)"


async def explain_fast_path(bench: Bench, db_path: Path, cohort_id: int | None) -> list[str]:
    """Each statement of one fast-path call: its time, its SQL and its query plan."""
    timings: list[tuple[float, str, Any]] = []
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        timings.append((time.perf_counter() - started.pop(), statement, parameters))

    sync_engine = bench.store.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    try:
        total = time.perf_counter()
        await bench.report(scope_counts, cohort_id)
        total = time.perf_counter() - total
    finally:
        event.remove(sync_engine, "before_cursor_execute", before)
        event.remove(sync_engine, "after_cursor_execute", after)
    scope = "whole population" if cohort_id is None else f"cohort {cohort_id}"
    lines = [f"fast path, {scope}: {total * 1000:.1f} ms in {len(timings)} statements"]
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    for seconds, statement, parameters in sorted(timings, key=lambda t: -t[0]):
        lines.append(f"  {seconds * 1000:8.1f} ms  {' '.join(statement.split())}")
        lines.append(f"             params {tuple(parameters)!r}")
        for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", tuple(parameters)):
            lines.append(f"             plan: {row[3]}")
    db.close()
    return lines


@dataclasses.dataclass(frozen=True)
class Footprint:
    """Memory of the fast path alone, measured in a fresh process."""

    residents: int
    traced_peak: int  # bytes allocated by Python at the peak of one whole-population call
    peak_rss_kib: int


def fast_path_footprint(path: Path, residents: int, cohort_name: str) -> Footprint:
    """Warm up, then trace one whole-population fast-path call; the process's peak RSS."""

    async def run() -> int:
        store = await Store.open(f"sqlite+aiosqlite:///{path}")
        bench = Bench(store, load_shape(), cohort_name)
        for cohort_id in (None, BENCHMARK_COHORT_ID) * 2:
            await bench.report(scope_counts, cohort_id)
        tracemalloc.start()
        await bench.report(scope_counts, None)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        await store.close()
        return peak

    peak = asyncio.run(run())
    return Footprint(residents, peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def in_fresh_processes(calls: Sequence[tuple[Callable[..., T], tuple[Any, ...]]]) -> list[T]:
    """Run each call in its own new process (at most two at a time); their results in order."""
    if not calls:
        return []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(2, len(calls)), mp_context=context, max_tasks_per_child=1
    ) as pool:
        futures = [pool.submit(fn, *args) for fn, args in calls]
        return [future.result() for future in futures]


# /stats and /export side by side at two sizes, each in a fresh process.

ADMIN_ID = 1  # the cohorts' creator in the generated data
EXPORT_KEY = b"bench-pseudonym-key-of-32-bytes!"
WRITE_EVERY_S = 0.02  # a resident's write (a lesson card opened) this often during the export
IDLE_WRITES = 50


@dataclasses.dataclass(frozen=True)
class SizeFigures:
    """One population's /stats and /export figures, measured in a fresh process."""

    answers: int
    residents: int
    stats_whole: Timing
    stats_cohort: Timing
    export_s: float
    export_bytes: int
    export_parts: int
    export_said: str  # the refusal or notice the administrator got, if any
    rss_before_kib: int  # the process after opening the store and warming /stats up
    peak_rss_kib: int  # ... and its peak once the export is done
    idle_write_ms: list[float]
    export_write_ms: list[float]


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


async def _writes(
    store: Store, resident_id: int, lesson_id: str, stop: asyncio.Event
) -> list[float]:
    """A resident opening a lesson card every WRITE_EVERY_S until ``stop``: for each write, the
    ms from when it was due until it committed (so a busy event loop counts, not only SQL)."""
    took = []
    card = 0
    due = time.perf_counter()
    while not stop.is_set():
        await store.lessons.open_card(
            resident_id=resident_id, lesson_id=lesson_id, card_index=card % 3
        )
        took.append((time.perf_counter() - due) * 1000)
        card += 1
        due = time.perf_counter() + WRITE_EVERY_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WRITE_EVERY_S)
    return took


def size_figures(path: Path, generated: Generated, repeat: int) -> SizeFigures:
    """/stats timings, then one whole-population answer-level /export with a resident writing
    alongside it: its time, size, the process's peak RSS, and the resident's write latencies
    while idle and while the export runs."""

    async def run() -> SizeFigures:
        store = await Store.open(f"sqlite+aiosqlite:///{path}")
        try:
            shape = load_shape()
            bench = Bench(store, shape, generated.cohort_name)
            whole, _ = await bench.time("whole", scope_counts, None, repeat)
            cohort, _ = await bench.time("cohort", scope_counts, BENCHMARK_COHORT_ID, repeat)
            content = load_content(CONTENT)
            desk = AdminDesk(
                content=content,
                store=store,
                reports=Reports(store.engine),
                pictures=Pictures(),
                admin_ids=frozenset({ADMIN_ID}),
                min_group=MIN_GROUP,
                pseudonym_key=EXPORT_KEY,
                clock=lambda: NOW,
            )
            writer = 1  # a resident of its own, so the writes touch nobody's figures
            await store.residents.ensure(resident_id=writer, language="zh")
            lesson_id = shape.lessons[0].id
            stop = asyncio.Event()
            idle = asyncio.create_task(_writes(store, writer, lesson_id, stop))
            await asyncio.sleep(WRITE_EVERY_S * IDLE_WRITES)
            stop.set()
            idle_ms = await idle
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            stop = asyncio.Event()
            during = asyncio.create_task(_writes(store, writer, lesson_id, stop))
            started = time.perf_counter()
            reply = await desk.handle(ADMIN_ID, "en", "export", "")
            export_s = time.perf_counter() - started
            stop.set()
            during_ms = await during
            answers = [d for d in reply.documents if "answers" in d.filename]
            stored = getattr(reply, "stored", ())
            size = sum(len(d.data) for d in answers) + sum(p.size for p in stored)
            said = " ".join(visible_text(s.text) for s in reply.screens)
            return SizeFigures(
                answers=generated.rows["answers"],
                residents=generated.rows["residents"],
                stats_whole=whole,
                stats_cohort=cohort,
                export_s=export_s,
                export_bytes=size,
                export_parts=len(answers) + len(stored),
                export_said=said,
                rss_before_kib=rss_before,
                peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                idle_write_ms=idle_ms,
                export_write_ms=during_ms,
            )
        finally:
            await store.close()

    return asyncio.run(run())


def _spread(values: Sequence[float]) -> str:
    return " / ".join(f"{_percentile(values, q):.0f}" for q in (0.5, 0.95, 1.0))


def print_sizes(figures: Sequence[SizeFigures]) -> None:
    """The two populations' /stats and /export figures in two columns."""
    heads = [f"{f.answers:,} answers" for f in figures]
    width = max(18, *(len(h) for h in heads))
    label = 58

    def line(name: str, cells: Sequence[str]) -> None:
        print(f"{name:<{label}}" + "".join(f"{c:>{width}}" for c in cells))

    print("/stats and /export side by side (each population in a fresh process):")
    line("", heads)
    line("residents", [f"{f.residents:,}" for f in figures])
    line("/stats whole population, median ms", [f"{f.stats_whole.median_ms:.1f}" for f in figures])
    line("/stats cohort, median ms", [f"{f.stats_cohort.median_ms:.1f}" for f in figures])
    line("/export all answers, s", [f"{f.export_s:.2f}" for f in figures])
    line("/export answers per second", [f"{f.answers / f.export_s:,.0f}" for f in figures])
    line(
        "/export size (parts)",
        [f"{f.export_bytes / 2**20:.1f} MiB ({f.export_parts})" for f in figures],
    )
    line("peak RSS before /export", [mib(f.rss_before_kib) for f in figures])
    line("peak RSS after /export", [mib(f.peak_rss_kib) for f in figures])
    line(
        "a resident's write, due to committed, idle: median / p95 / max ms",
        [_spread(f.idle_write_ms) for f in figures],
    )
    line(
        "... during /export: median / p95 / max ms",
        [_spread(f.export_write_ms) for f in figures],
    )
    line("... writes committed during /export", [f"{len(f.export_write_ms):,}" for f in figures])
    for f in figures:
        if f.export_said:
            print(f"  ({f.answers:,} answers: the administrator was told: {f.export_said})")


# Output.


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def print_table(
    big: Generated,
    small: Generated,
    timings: Sequence[Timing],
    sqlite_version: str,
) -> None:
    p = big.params
    print(
        f"finlit /stats benchmark  (seed {p.seed}, SQLite {sqlite_version}, "
        f"Python {platform.python_version()}, SQLAlchemy {sa.__version__})"
    )
    rows = "  ".join(f"{table} {n:,}" for table, n in big.rows.items())
    print(f"data: {rows}")
    print(
        f"generated in {big.total_s:.1f} s (rows {big.insert_s:.1f} s, aggregate rebuild "
        f"{big.rebuild_s:.1f} s, ANALYZE {big.analyze_s:.1f} s); 10x smaller population "
        f"({small.rows['residents']:,} residents, {small.rows['answers']:,} answers) "
        f"in {small.total_s:.1f} s"
    )
    width = max(len(t.label) for t in timings)
    print(f"{'':{width}}  {'median':>10}  {'p95':>10}   ({len(timings[0].seconds)} runs each)")
    for timing in timings:
        print(f"{timing.label:{width}}  {timing.median_ms:7.1f} ms  {timing.p95_ms:7.1f} ms")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=5_000_000)
    parser.add_argument("--cohort-share", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--db", type=Path, help="the SQLite file to generate (default: in /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse --db files generated with the same parameters"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print each fast-path query's time and plan"
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="time only the fast path (e.g. to compare SQLite and PostgreSQL quickly)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgresql+asyncpg://...): time /stats there too, side by "
        "side (in a database of the benchmark's own, dropped unless --keep)",
    )
    parser.add_argument(
        "--no-export",
        action="store_true",
        help="skip /stats and /export side by side at both sizes (with a resident writing)",
    )
    args = parser.parse_args(argv)
    if args.residents < 10 or args.answers < 10 or args.repeat < 1:
        parser.error("need at least 10 residents, 10 answers and 1 repeat")
    if args.database_url and make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url must be a postgresql+asyncpg:// URL")
    if not 0 < args.cohort_share <= CONSENT_SHARE:
        parser.error(f"--cohort-share must be in (0, {CONSENT_SHARE}]")
    return args


Fast = tuple[tuple[ScopeCounts, StatsReport], tuple[ScopeCounts, StatsReport]]


async def measure(
    path: Path, big: Generated, repeat: int, explain: bool, baseline: bool = True
) -> tuple[list[Timing], list[str], list[str], Fast]:
    """The four timings, the equality checks' findings, per-query plans if asked for, and the
    fast path's figures (whole, cohort)."""
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        bench = Bench(store, load_shape(), big.cohort_name)
        size = f"({big.cohort_size:,})"
        runs = [
            ("fast  whole population", scope_counts, None),
            (f"fast  cohort {size}", scope_counts, BENCHMARK_COHORT_ID),
        ]
        if baseline:
            runs += [
                ("base  whole population", raw_scope_counts, None),
                (f"base  cohort {size}", raw_scope_counts, BENCHMARK_COHORT_ID),
            ]
        timings, results = [], []
        for label, fn, cohort_id in runs:
            timing, result = await bench.time(label, fn, cohort_id, repeat)
            timings.append(timing)
            results.append(result)
        problems = []
        pairs = (("whole", results[0], results[2]), ("cohort", *results[1::2])) if baseline else ()
        for scope, fast, base in pairs:
            for what, x, y in (("counts", fast[0], base[0]), ("report", fast[1], base[1])):
                if x != y:
                    problems.append(f"{scope}: {first_difference(x, y, what) or 'differ'}")
        plans: list[str] = []
        if explain or timings[0].median_ms > SLOW_FAST_PATH_MS:
            for cohort_id in (None, BENCHMARK_COHORT_ID):
                plans += await explain_fast_path(bench, path, cohort_id)
        return timings, problems, plans, (results[0], results[1])
    finally:
        await store.close()


@dataclasses.dataclass(frozen=True)
class PostgresFigures:
    version: str
    fill: dict[str, float]  # seconds per phase; empty when an earlier database was reused
    rows: dict[str, int]
    timings: list[Timing]  # whole, cohort
    problems: list[str]  # where its figures differ from SQLite's
    plans: list[str]


async def explain_postgres(bench: Bench, url: str, cohort_id: int | None) -> list[str]:
    """Each statement of one fast-path call on PostgreSQL: its time and EXPLAIN ANALYZE."""
    timings: list[tuple[float, str, Any]] = []
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        timings.append((time.perf_counter() - started.pop(), statement, parameters))

    sync_engine = bench.store.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    try:
        total = time.perf_counter()
        await bench.report(scope_counts, cohort_id)
        total = time.perf_counter() - total
    finally:
        event.remove(sync_engine, "before_cursor_execute", before)
        event.remove(sync_engine, "after_cursor_execute", after)
    scope = "whole population" if cohort_id is None else f"cohort {cohort_id}"
    lines = [f"PostgreSQL fast path, {scope}: {total * 1000:.1f} ms in {len(timings)} statements"]
    for seconds, statement, parameters in sorted(timings, key=lambda t: -t[0]):
        lines.append(f"  {seconds * 1000:8.1f} ms  {' '.join(statement.split())}")
        lines.append(f"             params {tuple(parameters)!r}")
        for line in await stats_postgres.explain(url, statement, tuple(parameters)):
            lines.append(f"             {line}")
    return lines


async def measure_postgres(
    server_url: str, path: Path, big: Generated, args: argparse.Namespace, sqlite_fast: Fast
) -> PostgresFigures:
    """Fill (or reuse) the benchmark's PostgreSQL database, then time the fast path there."""
    params = dataclasses.asdict(big.params)
    name = stats_postgres.database_name(params)
    url = database_url(server_url, name)
    fill: dict[str, float] = {}
    if not (args.reuse and await stats_postgres.saved_params(server_url, name) == params):
        print(f"copying the population into PostgreSQL database {name} ...", flush=True)
        fill = await stats_postgres.fill(path, server_url, name, params)
    store = await Store.open(url)
    try:
        bench = Bench(store, load_shape(), big.cohort_name)
        timings, problems = [], []
        for label, cohort_id, expected in (
            ("whole", None, sqlite_fast[0]),
            ("cohort", BENCHMARK_COHORT_ID, sqlite_fast[1]),
        ):
            timing, result = await bench.time(label, scope_counts, cohort_id, args.repeat)
            timings.append(timing)
            for what, x, y in (
                ("counts", result[0], expected[0]),
                ("report", result[1], expected[1]),
            ):
                found = first_difference(x, y, what)
                if found:
                    problems.append(f"{label}: {found} (fast path: PostgreSQL vs SQLite)")
        plans: list[str] = []
        if args.explain or timings[0].median_ms > SLOW_FAST_PATH_MS:
            for cohort_id in (None, BENCHMARK_COHORT_ID):
                plans += await explain_postgres(bench, url, cohort_id)
        rows = await stats_postgres.table_rows(url, MAIN_TABLES)
    finally:
        await store.close()
    version = await stats_postgres.server_version(server_url)
    if not args.keep:
        await stats_postgres.drop(server_url, name)
    return PostgresFigures(version, fill, rows, timings, problems, plans)


def print_postgres(
    sqlite_timings: Sequence[Timing], pg: PostgresFigures, sqlite_rows: Mapping[str, int]
) -> None:
    """SQLite's and PostgreSQL's /stats side by side on the same population."""
    if pg.fill:
        phases = ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in pg.fill.items())
        print(f"PostgreSQL {pg.version}: filled in {sum(pg.fill.values()):.1f} s ({phases})")
    else:
        print(f"PostgreSQL {pg.version}: the kept database reused")
    if any(pg.rows.get(t) != n for t, n in sqlite_rows.items()):
        print(f"  rows differ from SQLite's: {pg.rows}")
    runs = len(pg.timings[0].seconds)
    print(
        f"/stats fast path, same population ({runs} runs each)   SQLite median / p95     "
        "PostgreSQL median / p95"
    )
    for label, lite, pg_timing in zip(
        ("whole population", "cohort"), sqlite_timings[:2], pg.timings, strict=True
    ):
        print(
            f"  {label:<44} {lite.median_ms:8.1f} / {lite.p95_ms:7.1f} ms   "
            f"{pg_timing.median_ms:8.1f} / {pg_timing.p95_ms:7.1f} ms"
        )
    verdict = pg.problems[0] if pg.problems else "OK"
    print(f"identical figures on SQLite and PostgreSQL (counts, reports, both scopes): {verdict}")
    for line in pg.plans:
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    begun = time.perf_counter()
    workdir = None
    if args.db is None:
        workdir = Path(tempfile.mkdtemp(prefix="finlit-bench-", dir="/tmp"))
        path = workdir / "stats.db"
    else:
        path = args.db.resolve()
    small_path = path.with_name(f"{path.stem}-small{path.suffix or '.db'}")
    params = Params(args.residents, args.answers, args.cohort_share, args.seed)
    small_params = dataclasses.replace(
        params, residents=max(10, args.residents // 10), answers=max(10, args.answers // 10)
    )
    try:
        wanted = [(path, params), (small_path, small_params)]
        known = [reuse(p, q) if args.reuse else None for p, q in wanted]
        missing = [(generate, (p, q)) for (p, q), g in zip(wanted, known, strict=True) if g is None]
        if missing:
            print(f"generating {len(missing)} population(s) under {path.parent} ...", flush=True)
        made: Iterator[Generated] = iter(in_fresh_processes(missing))
        big, small = (g if g is not None else next(made) for g in known)
        if missing:
            os.sync()  # let the kernel write the new files back now, not while we measure

        timings, problems, plans, fast = asyncio.run(
            measure(path, big, args.repeat, args.explain, baseline=not args.no_baseline)
        )
        postgres = None
        if args.database_url:
            postgres = asyncio.run(measure_postgres(args.database_url, path, big, args, fast))
        measured_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        footprints = in_fresh_processes(
            [
                (fast_path_footprint, (small_path, small.rows["residents"], small.cohort_name)),
                (fast_path_footprint, (path, big.rows["residents"], big.cohort_name)),
            ]
        )

        print_table(big, small, timings, sqlite3.sqlite_version)
        if not args.no_baseline:
            whole = timings[2].median_ms / timings[0].median_ms
            cohort = timings[3].median_ms / timings[1].median_ms
            print(f"ratio base/fast (median): whole {whole:,.0f}x, cohort {cohort:,.0f}x")
            verdict = problems[0] if problems else "OK"
            print(f"identical figures (counts and reports, both scopes): {verdict}")
        print(f"peak RSS {mib(measured_rss)} (this process, all four measurements)")
        print("fast path alone, in a fresh process per population:")
        for f in footprints:
            print(
                f"  {f.residents:>9,} residents: peak RSS {mib(f.peak_rss_kib)}, "
                f"one call's peak Python allocation {f.traced_peak / 2**20:.2f} MiB"
            )
        for line in plans:
            print(line)
        if postgres is not None:
            print_postgres(timings, postgres, big.rows)
            problems += postgres.problems
        if not args.no_export:
            # One population at a time: the two processes would otherwise share the CPU.
            sizes = [
                in_fresh_processes([(size_figures, (p, g, args.repeat))])[0]
                for p, g in ((small_path, small), (path, big))
            ]
            print_sizes(sizes)
        print(f"total run time {time.perf_counter() - begun:.0f} s")
        return 1 if problems else 0
    finally:
        if not args.keep:
            for file in database_files(path) + database_files(small_path):
                file.unlink(missing_ok=True)
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
