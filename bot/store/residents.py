"""Residents: who they are to finlit, what they agreed to, their settings and reachability."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.core.i18n import Language
from bot.core.models import Resident
from bot.store import statements as sql
from bot.store.db import Connections
from bot.store.schema import residents
from bot.store.values import Clock, aware

PROFILE_FIELDS = ("age_band", "resident_type", "place")


class Residents:
    """One row per resident: language, consent, profile, announcements, reachability."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def get(self, *, resident_id: int) -> Resident | None:
        """The resident, or None if finlit never met them (or forgot them)."""
        async with self._db._read() as conn:
            row = (await conn.execute(sql.of(conn).resident, {"resident_id": resident_id})).first()
        return _resident(row) if row else None

    async def ensure(self, *, resident_id: int, language: Language) -> Resident:
        """The resident, created with ``language`` on first contact; marks them seen."""
        now = self._now()
        async with self._db._write() as conn:
            row = (
                await conn.execute(
                    sql.of(conn).ensure_resident,
                    {
                        "id": resident_id,
                        "language": language,
                        "created_at": now,
                        "last_seen_at": now,
                        "b_now": now,
                    },
                )
            ).one()
        return _resident(row)

    async def set_language(self, *, resident_id: int, language: Language) -> None:
        """The language the resident reads finlit in."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(residents).where(residents.c.id == resident_id).values(language=language)
            )

    async def give_consent(self, *, resident_id: int, version: int = 1) -> None:
        """A first consent, to ``version`` of the privacy notice (the newest one shown)."""
        now = self._now()
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == resident_id, residents.c.consent_at.is_(None))
                .values(
                    consent_at=now,
                    consent_version=version,
                    consent_version_at=now,
                    consent_asked=version,
                )
            )

    async def accept_notice(self, *, resident_id: int, version: int) -> bool:
        """A consented resident agrees to a newer version of the notice; False if not newer."""
        now = self._now()
        async with self._db._write() as conn:
            moved = await conn.execute(
                sa.update(residents)
                .where(
                    residents.c.id == resident_id,
                    residents.c.consent_at.is_not(None),
                    sa.func.coalesce(residents.c.consent_version, 1) < version,
                )
                .values(consent_version=version, consent_version_at=now, consent_asked=version)
            )
        return moved.rowcount == 1

    async def notice_asked(self, *, resident_id: int, version: int) -> bool:
        """Remember that a resident was asked about ``version``; False if they already were."""
        async with self._db._write() as conn:
            moved = await conn.execute(
                sa.update(residents)
                .where(
                    residents.c.id == resident_id,
                    sa.func.coalesce(residents.c.consent_asked, 0) < version,
                )
                .values(consent_asked=version)
            )
        return moved.rowcount == 1

    async def set_profile(self, *, resident_id: int, field: str, value: str) -> None:
        """One answer of the optional profile (a field of ``PROFILE_FIELDS``)."""
        if field not in PROFILE_FIELDS:
            raise ValueError(f"unknown profile field {field!r}")
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(residents).where(residents.c.id == resident_id).values({field: value})
            )

    async def profile(self, *, resident_id: int) -> dict[str, str | None]:
        """The resident's profile answers (None where not given)."""
        async with self._db._read() as conn:
            row = (
                await conn.execute(
                    sa.select(*(residents.c[f] for f in PROFILE_FIELDS)).where(
                        residents.c.id == resident_id
                    )
                )
            ).first()
        return dict(row._mapping) if row else dict.fromkeys(PROFILE_FIELDS)

    async def set_announcements(self, *, resident_id: int, on: bool) -> None:
        """Whether the resident receives administrators' announcements."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(residents).where(residents.c.id == resident_id).values(announcements=on)
            )

    async def announcements(self, *, resident_id: int) -> bool:
        """Whether the resident receives announcements (yes unless turned off)."""
        async with self._db._read() as conn:
            value = await conn.scalar(
                sa.select(residents.c.announcements).where(residents.c.id == resident_id)
            )
        return True if value is None else bool(value)

    async def set_blocked(self, *, resident_id: int, blocked: bool) -> None:
        """Telegram said the resident blocked the bot (or came back)."""
        condition = (
            residents.c.blocked_at.is_(None) if blocked else residents.c.blocked_at.is_not(None)
        )
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == resident_id, condition)
                .values(blocked_at=self._now() if blocked else None)
            )

    async def is_blocked(self, *, resident_id: int) -> bool:
        """Whether Telegram last said the resident blocked the bot."""
        async with self._db._read() as conn:
            blocked = await conn.scalar(
                sa.select(residents.c.blocked_at).where(residents.c.id == resident_id)
            )
        return blocked is not None


def _resident(row: sa.Row[Any]) -> Resident:
    return Resident(
        id=row.id,
        language=row.language,
        consent_at=aware(row.consent_at) if row.consent_at else None,
        # Before consent versions (migration 0010) a consent was to version 1.
        consent_version=row.consent_version or (1 if row.consent_at else None),
        consent_asked=row.consent_asked,
    )
