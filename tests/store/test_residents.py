"""The residents' port (``store.residents``), on every backend."""

from __future__ import annotations

import pytest

from bot.store import Store
from bot.store.residents import PROFILE_FIELDS


class TestResidents:
    """Who a resident is to finlit, their consent and settings."""

    async def test_resident_created_once_with_first_language(self, store: Store) -> None:
        first = await store.residents.ensure(resident_id=42, language="en")
        again = await store.residents.ensure(resident_id=42, language="zh")
        assert first.language == again.language == "en"
        assert not again.consented
        await store.residents.give_consent(resident_id=42)
        await store.residents.set_language(resident_id=42, language="zh")
        resident = await store.residents.get(resident_id=42)
        assert resident is not None and resident.consented and resident.language == "zh"

    async def test_notice_versions_are_asked_and_accepted_once(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="en")
        assert not await store.residents.accept_notice(resident_id=1, version=2)  # no consent yet
        await store.residents.give_consent(resident_id=1, version=1)
        assert await store.residents.notice_asked(resident_id=1, version=2)
        assert not await store.residents.notice_asked(resident_id=1, version=2)
        assert await store.residents.accept_notice(resident_id=1, version=2)
        assert not await store.residents.accept_notice(resident_id=1, version=2)
        resident = await store.residents.get(resident_id=1)
        assert resident is not None
        assert (resident.consent_version, resident.consent_asked) == (2, 2)

    async def test_profile_announcements_and_reachability(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        assert await store.residents.profile(resident_id=1) == dict.fromkeys(PROFILE_FIELDS)
        await store.residents.set_profile(resident_id=1, field="place", value="dawa")
        assert (await store.residents.profile(resident_id=1))["place"] == "dawa"
        with pytest.raises(ValueError):
            await store.residents.set_profile(resident_id=1, field="name", value="Ma")
        assert await store.residents.announcements(resident_id=1)
        await store.residents.set_announcements(resident_id=1, on=False)
        assert not await store.residents.announcements(resident_id=1)
        assert not await store.residents.is_blocked(resident_id=1)
        await store.residents.set_blocked(resident_id=1, blocked=True)
        assert await store.residents.is_blocked(resident_id=1)
        await store.residents.ensure(resident_id=1, language="zh")  # they wrote again
        assert not await store.residents.is_blocked(resident_id=1)
