"""Administrators end to end: hidden from residents, cohorts and QR links, stats, items, export."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import re
from collections.abc import AsyncIterator, Sequence

import pytest
from pydantic import SecretStr

from bot.core.admin import ADMIN_COMMANDS
from bot.core.admin import export as export_command
from bot.core.admin.ports import AnswerRecord
from bot.core.content import Content
from bot.core.html import visible_text
from bot.core.ui import AdminCommandTexts
from bot.settings import Settings
from bot.store import exports as export_module
from tests.conftest import ADMIN, Harness, running
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.process import eventually
from tests.fakes.records import BotMessage
from tests.fakes.resident import TelegramUser


@pytest.fixture
async def bot(fake: FakeTelegram, settings: Settings, content: Content) -> AsyncIterator[Harness]:
    configured = settings.model_copy(
        update={"admin_ids": frozenset({ADMIN}), "pseudonym_key": SecretStr("research-key")}
    )
    async with running(Harness(fake, configured, content)) as harness:
        yield harness


async def resident(bot: Harness, user_id: int, payload: str = "") -> TelegramUser:
    ui = bot.content.ui["en"]
    user = bot.resident(user_id=user_id, language_code="en", first_name=f"R{user_id}")
    await user.send(f"/start {payload}".strip())
    await user.press(ui.btn_agree)
    return user


async def finish_first_lesson(bot: Harness, user: TelegramUser, *, right: bool) -> None:
    ui = bot.content.ui["en"]
    topic, lesson = bot.content.curriculum.lessons()[0]
    await user.send("/menu")
    await user.press(ui.btn_lessons)
    await user.press(topic.title.en)
    await user.press(lesson.title.en)
    for _ in lesson.cards[1:]:
        await user.press(ui.btn_next)
    await user.press(ui.btn_take_quiz)
    for position, question in enumerate(lesson.quiz):
        index = (
            question.correct_index
            if right
            else (question.correct_index + 1) % len(question.options)
        )
        await user.press(question.options[index].text.en)
        last = position == len(lesson.quiz) - 1
        await user.press(ui.btn_see_result if last else ui.btn_next_question)


async def new_cohort(bot: Harness, admin: TelegramUser, name: str) -> str:
    exchange = await admin.send(f"/cohort new {name}")
    text = exchange.of("sendMessage")[0].params["text"]
    match = re.search(r"https://t\.me/finlit_test_bot\?start=([a-z0-9]+)", text)
    assert match, text
    return match.group(1)


def upload(message: BotMessage) -> tuple[str, bytes]:
    """The file name and the bytes of a document the bot sent."""
    assert message.filename is not None and message.document is not None
    return message.filename, message.document


def test_every_admin_command_has_a_menu_description() -> None:
    assert tuple(AdminCommandTexts.model_fields) == ADMIN_COMMANDS


async def test_administrators_get_their_commands_in_their_own_menu(bot: Harness) -> None:
    scope = json.dumps({"chat_id": ADMIN, "type": "chat"}, sort_keys=True)
    # At start Telegram did not know the administrator's chat: nothing set, nothing failed.
    assert not [key for key in bot.fake.commands if key[0] == scope]
    admin = bot.resident(user_id=ADMIN, language_code="en", first_name="Admin")
    await admin.send("/cohorts")
    await eventually(lambda: len([key for key in bot.fake.commands if key[0] == scope]) == 3)
    residents_menu = [c["command"] for c in bot.fake.commands[('{"type": "default"}', "en")]]
    admin_menu = [c["command"] for c in bot.fake.commands[(scope, "en")]]
    assert admin_menu == [*residents_menu, *ADMIN_COMMANDS]
    zh_menu = bot.fake.commands[(scope, "zh")]
    assert zh_menu[-1]["description"] == bot.content.ui["zh"].admin.commands.broadcast
    assert bot.fake.commands[(scope, "")] == zh_menu  # no language: DEFAULT_LANGUAGE
    for (key_scope, _), commands in bot.fake.commands.items():
        if key_scope != scope:  # residents never see administrators' commands
            assert not {c["command"] for c in commands} & set(ADMIN_COMMANDS)
    # Set once per process: later messages do not set it again; a restart sets it at start.
    calls = len(bot.fake.calls_of("setMyCommands"))
    await admin.send("/cohorts")
    assert len(bot.fake.calls_of("setMyCommands")) == calls
    await bot.restart(admin)
    scoped = [c for c in bot.fake.calls_of("setMyCommands")[calls:] if c.params.get("scope")]
    assert len(scoped) == 3


async def test_an_admin_menu_telegram_refuses_is_tried_again_at_the_next_message(
    bot: Harness,
) -> None:
    scope = json.dumps({"chat_id": ADMIN, "type": "chat"}, sort_keys=True)
    admin = bot.resident(user_id=ADMIN, language_code="en", first_name="Admin")
    before = len(bot.fake.calls_of("setMyCommands"))
    bot.fake.fail_next("setMyCommands", status=400, description="Bad Request: chat not found")
    exchange = await admin.send("/cohorts")
    assert exchange.of("sendMessage")  # the administrator is served all the same
    await eventually(lambda: len(bot.fake.calls_of("setMyCommands")) > before)
    assert not [key for key in bot.fake.commands if key[0] == scope]
    await admin.send("/cohorts")
    await eventually(lambda: len([key for key in bot.fake.commands if key[0] == scope]) == 3)


@pytest.mark.parametrize("command", ["/stats", "/cohort new Dawa", "/cohorts", "/items", "/export"])
async def test_residents_cannot_see_admin_commands(bot: Harness, command: str) -> None:
    user = await resident(bot, 11)
    await user.press(bot.content.ui["en"].btn_profile_skip)
    unknown = await user.send("/no_such_command")
    exchange = await user.send(command)
    assert exchange.methods == unknown.methods == ["sendMessage"]
    assert (
        exchange.of("sendMessage")[0].params["text"] == unknown.of("sendMessage")[0].params["text"]
    )
    assert await bot.store.audit.recent() == []


async def test_cohort_link_qr_and_joining(bot: Harness) -> None:
    admin = bot.resident(user_id=ADMIN, language_code="en")
    exchange = await admin.send("/cohort new Panjin Dawa village lecture 2026-12")
    # After the replies: the administrator's own command menu, at their first message.
    # (made right after the commit; the replies follow when delivery sends them)
    assert sorted(exchange.methods) == sorted(["sendMessage", "sendPhoto", *["setMyCommands"] * 3])
    text = exchange.of("sendMessage")[0].params["text"]
    link = re.search(r"\?start=([a-z0-9]{10})\b", text)
    assert link is not None, text
    code = link.group(1)
    photo = admin.last
    assert photo is not None and photo.kind == "photo" and photo.document is not None
    assert photo.document.startswith(b"\x89PNG")
    assert photo.caption == "Scan to join: Panjin Dawa village lecture 2026-12"
    # A resident scanning the poster: joined once they accept the privacy notice.
    user = bot.resident(user_id=12, language_code="en")
    await user.send(f"/start {code}")
    assert (await bot.store.privacy.export(resident_id=12))["cohort_members"] == []
    await user.press(bot.content.ui["en"].btn_agree)
    assert 'You have joined the group "Panjin Dawa village lecture 2026-12".' in user.last.visible
    members = (await bot.store.privacy.export(resident_id=12))["cohort_members"]
    assert len(members) == 1 and members[0]["joined_at"]
    # Joining again through the link changes nothing; an unknown code is ignored politely.
    await user.send(f"/start {code}")
    assert len((await bot.store.privacy.export(resident_id=12))["cohort_members"]) == 1
    await user.send("/start nosuchcode1")
    assert bot.content.ui["en"].welcome_unknown_link in user.last.visible
    # Every admin action is audited.
    log = await bot.store.audit.recent()
    assert [(row["admin_id"], row["action"]) for row in log] == [(ADMIN, "cohort")]


async def test_cohort_codes_are_unguessable_and_distinct(bot: Harness) -> None:
    admin = bot.resident(user_id=ADMIN, language_code="en")
    codes = {await new_cohort(bot, admin, f"Group {i}") for i in range(5)}
    assert len(codes) == 5 and all(re.fullmatch(r"[a-z2-9]{10}", c) for c in codes)


async def test_cohorts_list_hides_small_sizes(bot: Harness) -> None:
    admin = bot.resident(user_id=ADMIN, language_code="en")
    big = await new_cohort(bot, admin, "Big")
    small = await new_cohort(bot, admin, "Small")
    for user_id in range(20, 26):
        await resident(bot, user_id, big)
    for user_id in range(30, 32):
        await resident(bot, user_id, small)
    await admin.send("/cohorts")
    page = admin.last.visible
    assert f"Big: 6 residents (code {big})" in page
    assert f"Small: <5 residents (code {small})" in page
    # Two people are not a group: no figures, and no files, about them.
    texts = bot.content.ui["en"].admin
    for command in ("/stats Small", f"/export {small}"):
        exchange = await admin.send(command)
        assert exchange.methods == ["sendMessage"]
        assert admin.last.visible == texts.cohort_too_small.format(name="Small", k=5)


async def test_stats_text_and_chart_for_a_cohort(bot: Harness) -> None:
    ui = bot.content.ui["en"]
    admin = bot.resident(user_id=ADMIN, language_code="en")
    code = await new_cohort(bot, admin, "Dawa")
    for user_id in range(40, 47):  # 7 residents in the cohort, 5 right and 2 wrong
        user = await resident(bot, user_id, code)
        await user.press(ui.btn_profile_start)
        await user.press("18–39" if user_id < 45 else "65 or older")
        await user.press(ui.btn_profile_skip)
        await finish_first_lesson(bot, user, right=user_id < 45)
    # Five residents outside the cohort: with fewer, everyone's figures minus the cohort's would
    # describe those few, and /stats Dawa would be refused.
    for user_id in range(50, 55):
        outsider = await resident(bot, user_id)
        await outsider.press(ui.btn_profile_skip)
    exchange = await admin.send("/stats Dawa")
    # The report, then typed questions' counts (issue 17: everyone's only), then the chart.
    assert exchange.methods == ["sendMessage", "sendMessage", "sendPhoto"]
    assert ui.admin.ask_not_per_cohort in visible_text(exchange.texts[1])
    text = admin.fake.messages[ADMIN][
        int(exchange.of("sendMessage")[0].result["message_id"])
    ].visible
    assert "Literacy statistics: Dawa" in text
    assert "Residents 7, consented 7" in text
    assert "Mobile payment safety: 7 → 7 (100%)" in text
    quiz = len(bot.content.curriculum.lessons()[0][1].quiz)
    assert f"Mobile payment safety: {5 * quiz / (7 * quiz):.0%} → {5 / 7:.0%}" in text
    # 5 + 2 = the 7 shown above: showing the 5 would reveal the 2, so both are withheld; the
    # 5 is not "<5" (it is about five residents), it reads as withheld.
    assert "18–39: (withheld) residents, mean lessons completed (withheld)" in text
    assert "65 or older: <5 residents" in text
    # The chart arrives as a photo.
    photo = admin.last
    assert photo is not None and photo.kind == "photo" and photo.document is not None
    assert photo.document.startswith(b"\x89PNG")
    # Everyone: the outsiders count too.
    await admin.send("/stats")
    assert "Residents 12, consented 12" in admin.fake.sent_texts(ADMIN)[-1] or any(
        "Residents 12" in t for t in admin.texts()
    )
    await admin.send("/stats No such cohort")
    assert 'There is no cohort called "No such cohort"' in admin.last.visible


async def test_items_and_export_respect_suppression(bot: Harness) -> None:
    admin = bot.resident(user_id=ADMIN, language_code="en")
    code = await new_cohort(bot, admin, "Lecture")
    for user_id in range(60, 66):  # 6 residents
        user = await resident(bot, user_id, code)
        await user.press(bot.content.ui["en"].btn_profile_skip)
        await finish_first_lesson(bot, user, right=user_id % 2 == 0)
    for user_id in range(70, 75):  # 5 outside it, so the cohort is not everyone but a few
        outsider = await resident(bot, user_id)
        await outsider.press(bot.content.ui["en"].btn_profile_skip)
    _, lesson = bot.content.curriculum.lessons()[0]
    await admin.send("/items pay")
    page = admin.last.visible
    first = lesson.quiz[0]
    assert f"{first.id} " in page and "answered by 6, right on first try 50%" in page
    wrong = first.options[(first.correct_index + 1) % len(first.options)].text.en
    assert f"most chosen wrong option on a first try: {wrong[:29]}" in page
    assert "retries 0" in page
    await admin.send("/items nosuchtopic")
    assert "No such topic" in admin.last.visible

    exchange = await admin.send("/export Lecture")
    documents = exchange.of("sendDocument")
    assert [call.ok for call in documents] == [True, True]
    messages = [m for m in admin.fake.messages[ADMIN].values() if m.kind == "document"]
    _, aggregates_csv = upload(messages[-2])
    aggregates = list(csv.DictReader(io.StringIO(aggregates_csv.decode("utf-8-sig"))))
    by_key = {(r["section"], r["item"], r["measure"]): r for r in aggregates}
    assert by_key[("reach", "Lecture", "residents")]["value"] == "6"
    assert by_key[("topic", "pay", "started")]["value"] == "6"
    # Nobody in this cohort has reached another topic's quiz, and nobody is "not given" < 5
    # while others are shown: every small figure is "<5", never a number under 5.
    for row in aggregates:
        if row["residents"] not in ("", "<5") and 0 < int(row["residents"]) < 5:
            pytest.fail(f"small group shown: {row}")
    answers_name, answers_gz = upload(messages[-1])
    assert answers_name.endswith("-1.csv.gz")
    answers_csv = gzip.decompress(answers_gz).decode("utf-8-sig")
    answers = list(csv.DictReader(io.StringIO(answers_csv)))
    assert len(answers) == 6 * len(lesson.quiz)
    pseudonyms = {row["resident"] for row in answers}
    assert len(pseudonyms) == 6 and all(re.fullmatch(r"[0-9a-f]{16}", p) for p in pseudonyms)
    assert not pseudonyms & {str(i) for i in range(60, 66)}
    assert all(re.fullmatch(r"\d{4}-W\d{2}", row["answered_week"]) for row in answers)
    assert [r["action"] for r in await bot.store.audit.recent()][:3] == ["export", "items", "items"]


async def test_profile_answers_are_stored_and_can_be_declined(bot: Harness) -> None:
    ui = bot.content.ui["zh"]
    user = bot.resident(user_id=70, language_code="zh-hans")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_start)
    await user.press("65 岁及以上")
    await user.press(ui.btn_profile_decline)
    await user.press("盘锦")
    assert ui.checkup_offer_baseline.split("？")[0] in user.last.visible
    assert await bot.store.residents.profile(resident_id=70) == {
        "age_band": "65+",
        "resident_type": "no_answer",
        "place": "panjin",
    }


async def test_a_large_export_arrives_in_compressed_parts_and_never_sits_in_the_outbox(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = bot.resident(user_id=ADMIN, language_code="en")
    for user_id in range(60, 66):
        user = await resident(bot, user_id)
        await user.press(bot.content.ui["en"].btn_profile_skip)
        await finish_first_lesson(bot, user, right=user_id % 2 == 0)
    # Parts of a few hundred bytes, so this small export needs several of them.
    monkeypatch.setattr(export_module, "_ENCODE_EVERY", 256)
    tutor = bot.services.tutor
    assert tutor.admin is not None
    tutor.admin = dataclasses.replace(tutor.admin, export_part_bytes=300, export_max_parts=100)
    queued: list[dict[str, object]] = []
    original_add = bot.store.outbox.add

    async def spy(*, chat_id: int, payload: dict[str, object], priority: int = 0) -> int:
        queued.append(payload)
        return await original_add(chat_id=chat_id, payload=payload, priority=priority)

    monkeypatch.setattr(bot.store.outbox, "add", spy)
    exchange = await admin.send("/export")
    documents = exchange.of("sendDocument")
    assert (
        all(call.ok for call in documents) and len(documents) >= 3
    )  # aggregates + 2 parts or more
    parts = [m for m in bot.fake.messages[ADMIN].values() if m.kind == "document"][1:]
    assert [upload(m)[0].rsplit("-", 1)[1] for m in parts] == [
        f"{n}.csv.gz" for n in range(1, len(parts) + 1)
    ]
    texts = bot.content.ui["en"].admin
    caption = texts.export_answers_caption.format(scope=texts.scope_all)
    rows: list[dict[str, str]] = []
    for number, message in enumerate(parts, start=1):
        assert message.caption == texts.export_part.format(
            caption=caption, part=number, parts=len(parts)
        )
        _, part = upload(message)
        text = gzip.decompress(part).decode("utf-8-sig")
        rows.extend(csv.DictReader(io.StringIO(text)))  # every part opens on its own
    _, lesson = bot.content.curriculum.lessons()[0]
    assert len(rows) == 6 * len(lesson.quiz)
    # The outbox carried a reference per part, never the file itself.
    exported = [p for p in queued if p["kind"] == "export"]
    assert len(exported) == len(parts)
    assert all(len(json.dumps(p)) < 100 for p in exported)
    summary = await bot.store.exports.summary()
    assert len(summary) == 1 and summary[0]["delivered_at"] is not None


async def test_residents_keep_being_answered_while_an_export_is_written(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export streams on a read connection and writes short chunks: a resident's update,
    arriving in the middle of it, commits and is answered before the export finishes."""
    admin = bot.resident(user_id=ADMIN, language_code="en")
    users = []
    for user_id in range(60, 66):
        user = await resident(bot, user_id)
        await user.press(bot.content.ui["en"].btn_profile_skip)
        await finish_first_lesson(bot, user, right=True)
        users.append(user)
    original_rows = export_command.answer_rows
    during: list[int] = []
    visitor = users[0].chat_id

    async def rows_with_a_visitor(
        batches: AsyncIterator[Sequence[AnswerRecord]], key: bytes
    ) -> AsyncIterator[tuple[object, ...]]:
        async for row in original_rows(batches, key):
            yield row
            if not during:
                during.append(len(bot.fake.sent_texts(visitor)))
                await users[0].submit(users[0].text_update("/menu"))
                await eventually(lambda: len(bot.fake.sent_texts(visitor)) > during[0], 20)

    monkeypatch.setattr(export_command, "answer_rows", rows_with_a_visitor)
    exchange = await admin.send("/export")
    assert during and len(exchange.of("sendDocument")) == 2
