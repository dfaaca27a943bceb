"""Consent that keeps up: a resident who agreed to the privacy notice's current version (BASE)
meets the next one (NEXT, which these tests add: weekly reminders).

They are asked once, with just what is new; they can say "not now" and keep learning; what
the next version adds is not done for them until they agree (the gate features ask); /mydata
shows the version they accepted and when. The real version 2 (announcements and the fraud
tools) is tested the same way at the end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from sqlalchemy import Connection

from bot.core.checks import load_content
from bot.core.consent import PrivacyNotice, update_for
from bot.core.content import ContentError
from bot.settings import Settings
from bot.store.db import alembic_config, create_engine
from tests.conftest import Harness, running
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.resident import TelegramUser

REPO = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((REPO / "content" / "privacy.yaml").read_text(encoding="utf-8"))["versions"][
    -1
]["version"]
NEXT = BASE + 1

REMINDERS: dict[str, Any] = {  # one entry of a version's "adds" in privacy.yaml
    "id": "reminders",
    "text": {
        "zh": "每周提醒您一次接着学，并记下提醒发没发出去",
        "en": "A weekly reminder to carry on learning, and whether it reached you",
    },
}


def with_next_version(content_dir: Path) -> Path:
    """The same content with one more notice version, adding reminders."""
    path = content_dir / "privacy.yaml"
    notice = yaml.safe_load(path.read_text(encoding="utf-8"))
    last = notice["versions"][-1]["date"]
    notice["versions"].append({"version": NEXT, "date": last, "adds": [REMINDERS]})
    path.write_text(yaml.safe_dump(notice, allow_unicode=True), encoding="utf-8")
    return content_dir


@pytest.fixture
async def hall(fake: FakeTelegram, settings: Settings, content_dir: Path) -> AsyncIterator[Harness]:
    """A bot on the notice's current version; ``upgrade`` restarts it on the next, same
    database."""
    async with running(Harness(fake, settings, load_content(content_dir))) as harness:
        yield harness


async def upgrade(hall: Harness, content_dir: Path, *users: TelegramUser) -> None:
    hall.content = load_content(with_next_version(content_dir))
    await hall.restart(*users)


async def onboard(hall: Harness, user_id: int) -> TelegramUser:
    ui = hall.content.ui["en"]
    user = hall.resident(user_id=user_id, language_code="en")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    return user


async def may(hall: Harness, user: TelegramUser, processing: str) -> bool:
    resident = await hall.store.residents.get(resident_id=user.chat_id)
    assert resident is not None
    return hall.services.tutor.may(resident, processing)


async def my_data(user: TelegramUser) -> dict[str, Any]:
    await user.send("/mydata")
    document = user.last
    assert document is not None and document.document is not None
    data: dict[str, Any] = json.loads(document.document)
    return data


async def test_a_resident_of_an_older_version_is_asked_once_and_can_decline_and_keep_learning(
    hall: Harness, content_dir: Path
) -> None:
    user = await onboard(hall, 501)
    assert await may(hall, user, "learning")
    await upgrade(hall, content_dir, user)
    ui = hall.content.ui["en"]

    exchange = await user.send("/menu")
    # The menu first, then the question with just what the next version adds.
    menu, question = exchange.texts
    assert ui.menu_prompt in menu
    assert ui.notice_update_intro in question and REMINDERS["text"]["en"] in question
    assert "Which group you joined" not in question  # older versions' lines are not asked again
    assert user.last is not None
    assert user.last.labels == [ui.btn_notice_agree, ui.btn_notice_later]
    assert not await may(hall, user, "reminders")

    # Asked once: neither the next command nor a restart asks again.
    exchange = await user.send("/help")
    assert len(exchange.texts) == 1 and ui.notice_update_intro not in exchange.texts[0]
    await hall.restart(user)
    exchange = await user.send("/menu")
    assert len(exchange.texts) == 1

    # "Not now": nothing changes, learning goes on, the new processing is not done.
    question_message = _question_message(user, ui.notice_update_intro)
    await user.press(ui.btn_notice_later, message=question_message)
    answered = user.fake.messages[user.chat_id][question_message.message_id]
    assert ui.notice_update_later in answered.visible
    await user.press(ui.btn_lessons)
    topic = hall.content.curriculum.topics[0]
    await user.press(topic.title.get("en"))
    await user.press(topic.lessons[0].title.get("en"))
    assert hall.content.ui["en"].btn_next in user.last.labels
    assert await may(hall, user, "learning")
    assert not await may(hall, user, "reminders")
    resident = (await my_data(user))["residents"][0]
    assert resident["consent_version"] == BASE

    # /settings still offers it; agreeing there opens the gate.
    await user.send("/settings")
    assert ui.settings_notice_news in user.last.visible
    await user.press(ui.btn_notice_review)
    assert REMINDERS["text"]["en"] in user.last.visible
    await user.press(ui.btn_notice_agree)
    assert ui.notice_update_agreed in user.last.visible
    assert await may(hall, user, "reminders")
    await user.send("/settings")
    assert ui.settings_notice_news not in user.last.visible
    assert ui.btn_notice_review not in user.last.labels


def _question_message(user: TelegramUser, intro: str) -> Any:
    found = [m for m in user.fake.messages[user.chat_id].values() if intro in m.visible]
    assert len(found) == 1
    return found[0]


async def test_agreeing_when_asked_records_the_version_and_when_in_mydata(
    hall: Harness, content_dir: Path
) -> None:
    user = await onboard(hall, 502)
    before = (await my_data(user))["residents"][0]
    assert before["consent_version"] == BASE
    assert before["consent_version_at"] == before["consent_at"]
    await upgrade(hall, content_dir, user)
    ui = hall.content.ui["en"]
    await user.send("/progress")
    question_message = user.last
    await user.press(ui.btn_notice_agree)
    assert ui.notice_update_agreed in user.last.visible
    assert await may(hall, user, "reminders")
    after = (await my_data(user))["residents"][0]
    assert after["consent_version"] == NEXT
    assert after["consent_version_at"] is not None
    assert after["consent_at"] == before["consent_at"]  # the first consent stays as it was
    # An old "I agree" pressed again changes nothing and is not an error.
    exchange = await user.press_data(f"1:na:{NEXT}", message=question_message)
    assert exchange.answered
    assert (await my_data(user))["residents"][0]["consent_version_at"] == after[
        "consent_version_at"
    ]


async def test_a_new_resident_accepts_the_newest_version_and_is_never_asked(
    hall: Harness, content_dir: Path
) -> None:
    await upgrade(hall, content_dir)
    user = await onboard(hall, 503)
    exchange = await user.send("/menu")
    assert len(exchange.texts) == 1
    assert await may(hall, user, "reminders")
    assert (await my_data(user))["residents"][0]["consent_version"] == NEXT


async def test_nothing_is_asked_before_the_first_consent(hall: Harness, content_dir: Path) -> None:
    await upgrade(hall, content_dir)
    user = hall.resident(user_id=504, language_code="en")
    await user.send("/start")
    exchange = await user.send("/menu")
    ui = hall.content.ui["en"]
    assert len(exchange.texts) == 1 and ui.consent_needed in user.last.visible
    assert not await may(hall, user, "learning")
    # A forged "I agree to the next version" from someone who never consented does nothing.
    await user.press_data(f"1:na:{NEXT}")
    resident = await hall.store.residents.get(resident_id=504)
    assert resident is not None and resident.consent_version is None


async def test_forged_notice_buttons_change_nothing(hall: Harness, content_dir: Path) -> None:
    user = await onboard(hall, 505)
    await upgrade(hall, content_dir, user)
    ui = hall.content.ui["en"]
    for data in (f"1:na:{NEXT + 1}", f"1:na:{BASE}", "1:na:1", "1:na:0", "1:nl:99", "1:na:x"):
        exchange = await user.press_data(data)
        assert exchange.answered
    assert not await may(hall, user, "reminders")
    assert ui.notice_update_agreed not in "".join(user.texts())


def test_the_gate_refuses_unknown_processing_and_nobody_before_consent() -> None:
    notice = PrivacyNotice.model_validate(
        {
            "versions": [
                {"version": 1, "date": "2026-11-01", "adds": [{"id": "learning", **_text()}]},
                {"version": 2, "date": "2026-12-01", "adds": [{"id": "reminders", **_text()}]},
            ]
        }
    )
    assert notice.allows(1, "learning") and notice.allows(2, "learning")
    assert not notice.allows(1, "reminders") and notice.allows(2, "reminders")
    assert not notice.allows(None, "learning")
    with pytest.raises(KeyError):
        notice.allows(2, "display_name")  # a feature must be in the notice before it asks
    news = update_for(notice, "en", accepted=1, asked=1)
    assert news is not None and news.version == 2 and news.lines == ("new",)
    assert update_for(notice, "en", accepted=1, asked=2) is None  # asked once
    assert update_for(notice, "en", accepted=2, asked=2) is None
    assert update_for(notice, "en", accepted=None, asked=None) is None


def _text() -> dict[str, Any]:
    return {"text": {"zh": "新", "en": "new"}}


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ([1, 3], "numbered 1, 2, 3"),
        ([2], "numbered 1, 2, 3"),
    ],
)
def test_the_content_check_refuses_badly_numbered_versions(
    content_dir: Path, versions: list[int], message: str
) -> None:
    data = {
        "versions": [
            {"version": v, "date": f"2026-11-0{i + 1}", "adds": [{"id": f"kind{v}", **_text()}]}
            for i, v in enumerate(versions)
        ]
    }
    (content_dir / "privacy.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert message in caught.value.report()


def test_the_content_check_refuses_a_kind_added_twice(content_dir: Path) -> None:
    data = {
        "versions": [
            {"version": 1, "date": "2026-11-01", "adds": [{"id": "learning", **_text()}]},
            {"version": 2, "date": "2026-12-01", "adds": [{"id": "learning", **_text()}]},
        ]
    }
    (content_dir / "privacy.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    assert "added only once: learning" in caught.value.report()


def _to(revision: str) -> Any:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    return run


async def test_residents_who_consented_before_versions_accepted_version_1(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_to("0009"))
            await conn.execute(
                sa.text(
                    "INSERT INTO residents (id, language, consent_at, created_at, last_seen_at)"
                    " VALUES (1, 'zh', '2026-11-20 08:00:00', '2026-11-20 07:59:00',"
                    " '2026-11-20 08:00:00'),"
                    " (2, 'en', NULL, '2026-11-21 07:00:00', '2026-11-21 07:00:00')"
                )
            )
            await conn.run_sync(_to("0010"))
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT id, consent_version, consent_version_at, consent_asked"
                        " FROM residents ORDER BY id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, 1, "2026-11-20 08:00:00", 1),
        (2, None, None, None),
    ]
