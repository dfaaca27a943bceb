"""What finlit knows about residents, as the core's own data types.

The store builds these from its rows; the core and the channels read them. Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bot.core.i18n import Language


@dataclasses.dataclass(frozen=True)
class Resident:
    id: int
    language: Language
    consent_at: dt.datetime | None
    # The privacy notice's version accepted, and the newest one they were asked about.
    consent_version: int | None = None
    consent_asked: int | None = None

    @property
    def consented(self) -> bool:
        return self.consent_at is not None


@dataclasses.dataclass(frozen=True)
class Attempt:
    id: int
    resident_id: int
    lesson_id: str
    kind: str
    question_ids: tuple[str, ...]
    position: int
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclasses.dataclass(frozen=True)
class Sitting:
    """One sitting of the check-up; ``scores`` (share per dimension) once finished."""

    id: int
    resident_id: int
    kind: str
    item_ids: tuple[str, ...]
    position: int
    finished_at: dt.datetime | None
    scores: dict[str, float] | None
    instrument_version: int = 1  # the check-up's version when the sitting began

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclasses.dataclass(frozen=True)
class Cohort:
    id: int
    code: str
    name: str
    members: int = 0


@dataclasses.dataclass(frozen=True)
class LessonPosition:
    lesson_id: str
    card_index: int
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class RecordedAnswer:
    question_id: str
    option_index: int
    correct: bool
    option_id: str | None = None  # the option's stable id (None: stored before ids, unplaced)


@dataclasses.dataclass(frozen=True)
class Broadcast:
    """An administrator's announcement and how far its sending has got."""

    id: int
    admin_id: int
    cohort_id: int | None
    text: str
    status: str  # draft | sending | done | cancelled
    recipients: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0

    @property
    def settled(self) -> int:
        return self.sent + self.failed + self.blocked + self.skipped

    @property
    def remaining(self) -> int:
        return max(self.recipients - self.settled, 0)


@dataclasses.dataclass(frozen=True)
class Recipient:
    """A delivery still to make, with what the resident's row says now."""

    resident_id: int
    language: Language
    announcements: bool
    blocked: bool


@dataclasses.dataclass(frozen=True)
class Queued:
    """A message waiting in the outbox."""

    id: int
    chat_id: int
    payload: dict[str, Any]
    priority: int = 0
    attempts: int = 0
