"""The privacy notice's version 2 (announcements; the fraud tools' answers and numbers), as a
resident who agreed to version 1 before it meets it: announcements and the tools wait for their
agreement; learning and checking a message do not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.core.consent import ANNOUNCEMENTS, TOOLS
from bot.core.content import Content
from bot.store.schema import drill_answers, residents
from tests.conftest import ADMIN, Harness
from tests.fakes.resident import TelegramUser


@pytest.fixture
def bot(admin_bot: Harness) -> Harness:
    """Every test here has an administrator."""
    return admin_bot


async def onboard(bot: Harness, user_id: int, *, on_version_1: bool) -> TelegramUser:
    """A resident who consented; ``on_version_1``: before version 2 existed."""
    ui = bot.content.ui["en"]
    user = bot.resident(user_id=user_id, language_code="en", first_name=f"R{user_id}")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    if on_version_1:
        async with bot.store.engine.begin() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == user_id)
                .values(consent_version=1, consent_asked=1)
            )
    return user


def version_2_lines(bot: Harness) -> list[str]:
    return [p.text.get("en") for p in bot.content.privacy.versions[1].adds]


def test_version_2_names_announcements_and_the_tools(content: Content) -> None:
    assert content.privacy.introduced_in(ANNOUNCEMENTS) == 2
    assert content.privacy.introduced_in(TOOLS) == 2


async def test_the_tools_wait_for_agreement_then_work(bot: Harness) -> None:
    assert bot.content.drills is not None and bot.content.loans is not None
    ui = bot.content.ui["en"]
    user = await onboard(bot, 61, on_version_1=True)

    exchange = await user.send("/drill")
    assert len(exchange.texts) == 1  # asked once, not once more as news after the reply
    assert ui.notice_update_intro in user.last.visible
    assert all(line in user.last.visible for line in version_2_lines(bot))
    assert user.last.labels == [ui.btn_notice_agree, ui.btn_notice_later]
    await user.send("/loan")
    assert ui.notice_update_intro in user.last.visible

    # Not now: learning and checking a message go on; no drill answer is stored.
    await user.press(ui.btn_notice_later)
    await user.send("/check")
    assert bot.content.redflags is not None
    assert bot.content.redflags.texts["en"].prompt in user.last.visible
    async with bot.store.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(drill_answers)) == 0

    # Agreed: the drill is shown.
    await user.send("/drill")
    await user.press(ui.btn_notice_agree)
    assert ui.notice_update_agreed in user.last.visible
    await user.send("/drill")
    assert bot.content.drills.texts["en"].question in user.last.visible


async def test_announcements_reach_only_residents_who_agreed_to_version_2(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    old = await onboard(bot, 62, on_version_1=True)
    await onboard(bot, 63, on_version_1=False)
    boss = bot.resident(user_id=ADMIN, language_code="en", first_name="Admin")
    assert await bot.store.broadcasts.audience(cohort_id=None, notice_version=2) == 1

    await boss.send("/broadcast Meeting at 3pm")
    await boss.press(ui.admin.btn_broadcast_send)
    assert bot.app is not None and bot.app.bot_data.broadcasts is not None
    await bot.app.bot_data.broadcasts.drain()
    await bot.settled()
    html = bot.content.render("broadcast.html.j2", "en", text="Meeting at 3pm")
    assert [bot.fake.sent_texts(chat).count(html) for chat in (62, 63)] == [0, 1]

    # Once the old resident agrees, the next announcement reaches them too.
    await old.send("/menu")
    await old.press(ui.btn_notice_agree)
    await boss.send("/broadcast Second meeting")
    await boss.press(ui.admin.btn_broadcast_send)
    await bot.app.bot_data.broadcasts.drain()
    await bot.settled()
    html = bot.content.render("broadcast.html.j2", "en", text="Second meeting")
    assert [bot.fake.sent_texts(chat).count(html) for chat in (62, 63)] == [1, 1]
