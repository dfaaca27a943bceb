"""What the administrators' desk needs from outside the core, and the data that crosses.

The desk does no I/O itself. The store's classes satisfy these protocols structurally
(``bot.store.reports.Reports``, ``bot.store.exports.Exports``, the ``Store`` for cohorts,
broadcasts and the audit log); pictures are drawn outside the core (``bot.pictures``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from bot.core.ask.report import AskCounts
from bot.core.fraud.check_report import CheckCounts
from bot.core.fraud.drill_report import DrillTallies
from bot.core.literacy import ScopeCounts
from bot.core.models import Broadcast, Cohort
from bot.core.replies import StoredFile

# Telegram refuses documents above 50 MB from a bot; a part stops growing once its compressed
# size passes this, leaving room for what the compressor still holds and the multipart wrapping.
PART_BYTES = 45 * 1024 * 1024
MAX_PARTS = 10  # beyond this, the administrator is asked to export one cohort at a time
# The breakdown group of residents who never answered a profile question.
NOT_GIVEN = "not_given"


class ExportTooLarge(Exception):
    """The export would need more than ``MAX_PARTS`` parts."""

    def __init__(self, parts: int, part_bytes: int) -> None:
        super().__init__(f"more than {parts} parts of {part_bytes} bytes")
        self.parts = parts
        self.part_bytes = part_bytes


@dataclasses.dataclass(frozen=True)
class CohortOverlap:
    """How far a cohort is from the other scopes a figure about it could be subtracted from."""

    members: int
    population: int  # residents who consented
    # Per other cohort (by id): residents in exactly one of the two (the symmetric difference).
    differences: dict[int, int]


@dataclasses.dataclass(frozen=True)
class ItemTally:
    """One question, everyone: residents who answered it, first tries right, all answers, and
    how often each wrong option (by its id) was chosen on a first try."""

    residents: int
    first_try_correct: int
    answers: int
    wrong_first_tries: dict[str, int]


# One recorded answer as an export reads it: resident id, lesson id, question id, option index,
# option id (None before migration 0009 could place it), correct, try number, answered at.
AnswerRecord = tuple[int, str, str, int, str | None, bool, int, dt.datetime]


@dataclasses.dataclass(frozen=True)
class BarSeries:
    """One set of bars: a legend label and a share 0..1 (None = withheld) per category."""

    label: str
    values: Sequence[float | None]


class Reports(DrillTallies, Protocol):
    """The figures behind /stats, /items and /export: counts, never a row about one resident
    (except the pseudonymised answer rows of an export)."""

    async def scope_counts(
        self, *, cohort_id: int | None, now: dt.datetime, knowledge_items: int
    ) -> ScopeCounts: ...
    async def cohort_overlap(self, *, cohort_id: int) -> CohortOverlap: ...
    async def answering_residents(self, *, cohort_id: int | None) -> int: ...
    async def item_tallies(self, *, question_ids: Sequence[str]) -> dict[str, ItemTally]: ...
    def answer_batches(self, *, cohort_id: int | None) -> AsyncIterator[Sequence[AnswerRecord]]: ...


class ExportWriting(Protocol):
    """One answer-level export being written: rows in, stored parts out."""

    async def write_rows(self, rows: AsyncIterator[Sequence[object]]) -> list[StoredFile]: ...
    async def caption(self, caption_of: Callable[[int, int], str]) -> None: ...


class ExportFiles(Protocol):
    """Where large exports are kept until they are sent."""

    def writer(
        self,
        *,
        chat_id: int,
        stem: str,
        header: Sequence[str],
        part_bytes: int,
        max_parts: int,
    ) -> ExportWriting: ...


class CohortBook(Protocol):
    """Cohorts as administrators make and list them."""

    async def create(self, *, code: str, name: str, created_by: int) -> Cohort: ...
    async def find(self, *, code: str | None = None, name: str | None = None) -> Cohort | None: ...
    async def all(self) -> list[Cohort]: ...


class BroadcastDrafts(Protocol):
    """An announcement from draft to confirmed (the channel's worker sends it)."""

    async def audience(self, *, cohort_id: int | None, notice_version: int = 1) -> int: ...
    async def create(self, *, admin_id: int, cohort_id: int | None, text: str) -> Broadcast: ...
    async def get(self, *, broadcast_id: int) -> Broadcast | None: ...
    async def start(self, *, broadcast_id: int, notice_version: int = 1) -> Broadcast | None: ...
    async def cancel(self, *, broadcast_id: int) -> bool: ...


class AuditTrail(Protocol):
    """What administrators did, for the audit log."""

    async def record(self, *, admin_id: int, action: str, detail: str = "") -> None: ...


class AdminStore(Protocol):
    """The store as the desk uses it: cohorts, broadcasts, the audit log, exports, checks."""

    @property
    def cohorts(self) -> CohortBook: ...
    @property
    def broadcasts(self) -> BroadcastDrafts: ...
    @property
    def audit(self) -> AuditTrail: ...
    @property
    def exports(self) -> ExportFiles: ...
    @property
    def checks(self) -> CheckCounts: ...
    @property
    def asks(self) -> AskCounts: ...


class Pictures(Protocol):
    """Images for administrators, drawn outside the core (``bot.pictures``)."""

    def qr_png(self, link: str) -> bytes: ...
    def topic_chart(
        self,
        *,
        title: str,
        categories: Sequence[str],
        series: Sequence[BarSeries],
        hidden_label: str,
        axis_label: str,
    ) -> bytes: ...
