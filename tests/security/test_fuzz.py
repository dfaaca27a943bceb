"""Hostile input, generated: forged button data and arbitrary text never raise, never leak.

Bounded (``max_examples``) so CI stays fast; ``deadline=None`` because an example that opens a
chart or a transaction may take longer than hypothesis' default on a slow runner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, example, given, settings

from bot.core import callbacks as cb
from bot.core.admin import ADMIN_COMMANDS, AdminDesk
from bot.core.content import Content
from bot.core.conversation.tutor import Tutor, Visitor
from bot.core.html import html_problems
from bot.core.replies import Reply
from bot.pictures import Pictures
from bot.store import Store
from bot.store.reports import Reports

ADMIN = 900
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
CODES = [code for code, _ in cb._CODES.values()]
# Text a hostile client can send: any code point but lone surrogates (not valid UTF-8).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
FIELD = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.sampled_from(["", "0", "1", "00", "zh", "en", "fr", "pay-codes", "-1", "1e3", "٣"]),
)
# No example database: nothing is written into the checkout, and every run is reproducible
# from its seed (pytest prints it on failure).
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# The callback decoder


@FUZZ
@given(data=st.one_of(ANY_TEXT, st.binary(max_size=80).map(lambda b: b.decode("latin-1"))))
@example(data="1:" + "9" * 70)
@example(data="1:a:" + "1" * 11)
def test_decode_never_raises_on_garbage(data: str) -> None:
    action = cb.decode(data)
    if action is not None:
        assert cb.decode(cb.encode(action)) == action


@FUZZ
@given(
    version=st.sampled_from(["1", "0", "2", ""]),
    code=st.sampled_from([*CODES, "zz", ""]),
    fields=st.lists(FIELD, max_size=5),
)
def test_decode_of_forged_fields_is_an_action_or_none(
    version: str, code: str, fields: list[str]
) -> None:
    """Well-shaped data with forged values: decoded only when every value is valid."""
    data = ":".join([version, code, *fields])
    action = cb.decode(data)
    if action is None:
        return
    assert version == cb.VERSION and len(data.encode()) <= cb.MAX_BYTES
    encoded = cb.encode(action)
    assert cb.decode(encoded) == action
    for field in dataclasses.fields(action):
        value = getattr(action, field.name)
        if isinstance(value, int) and not isinstance(value, bool):
            assert 0 <= value <= 2**31 - 1


# The tutor's text entry point, and presses with forged data, on a real SQLite store


def well_formed(reply: Reply) -> None:
    assert reply.screens or reply.documents or reply.photos
    for screen in reply.screens:
        assert html_problems(screen.text) == [], screen.text


def run_tutor_fuzz(
    content: Content, path: Path, check: Callable[[asyncio.Runner, Tutor, Store], None]
) -> None:
    """Run ``check(runner, tutor, store)`` with one store and one event loop for all examples."""
    with asyncio.Runner() as runner:
        # A fixed clock: what the store holds changes only with what the residents do.
        store = runner.run(Store.open(f"sqlite+aiosqlite:///{path}", clock=lambda: NOW))
        admin = AdminDesk(
            content=content,
            store=store,
            reports=Reports(store.engine),
            pictures=Pictures(),
            admin_ids=frozenset({ADMIN}),
            pseudonym_key=b"k",
        )
        tutor = Tutor(content, store, default_language="zh", admin=admin)
        try:
            check(runner, tutor, store)
        finally:
            runner.run(store.close())


def test_any_text_gets_an_answer_and_is_never_stored(content: Content, tmp_path: Path) -> None:
    def check(runner: asyncio.Runner, tutor: Tutor, store: Store) -> None:
        @FUZZ
        @given(
            who=st.sampled_from([1, 2, ADMIN]),
            command=st.sampled_from(["", "/start ", "/menu ", "/mydata ", "/forget ", "/x "]),
            admin_command=st.sampled_from(["", *(f"/{name} " for name in ADMIN_COMMANDS)]),
            text=ANY_TEXT,
        )
        @example(who=ADMIN, command="", admin_command="/cohort ", text="new =HYPERLINK(1) $x$")
        @example(who=ADMIN, command="", admin_command="/broadcast ", text="@ <b>hi</b> &amp;")
        @example(who=1, command="/start ", text="\x00" * 70, admin_command="")
        def one(who: int, command: str, admin_command: str, text: str) -> None:
            typed = (admin_command if who == ADMIN else command) + text
            visitor = Visitor(id=who, language_hint="en", name=text[:20])
            before = stored(who)
            reply = runner.run(tutor.text(visitor, typed))
            well_formed(reply)
            if who != ADMIN and len(text.strip()) >= 4:
                # Not kept: it is in what is stored only if it was there before (a column name).
                assert text.strip() not in stored(who) or text.strip() in before

        def stored(who: int) -> str:
            data = runner.run(store.privacy.export(resident_id=who))
            return json.dumps(data, ensure_ascii=False)

        # A consented resident, an unconsented one and an administrator.
        runner.run(tutor.start(Visitor(id=1, language_hint="en")))
        runner.run(tutor.press(Visitor(id=1), cb.encode(cb.Agree())))
        one()

    run_tutor_fuzz(content, tmp_path / "fuzz-text.db", check)


def test_forged_presses_get_an_answer(content: Content, tmp_path: Path) -> None:
    def check(runner: asyncio.Runner, tutor: Tutor, store: Store) -> None:
        @FUZZ
        @given(
            who=st.sampled_from([1, 2, ADMIN]),
            code=st.sampled_from(CODES),
            fields=st.lists(FIELD, max_size=4),
        )
        def one(who: int, code: str, fields: list[str]) -> None:
            data = ":".join([cb.VERSION, code, *fields])
            reply = runner.run(tutor.press(Visitor(id=who, language_hint="en"), data))
            assert reply.screens or reply.notice
            for screen in reply.screens:
                assert html_problems(screen.text) == [], screen.text

        runner.run(tutor.start(Visitor(id=1, language_hint="en")))
        runner.run(tutor.press(Visitor(id=1), cb.encode(cb.Agree())))
        one()

    run_tutor_fuzz(content, tmp_path / "fuzz-press.db", check)
