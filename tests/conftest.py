"""Shared fixtures: content directories, settings on a temporary database, and a running bot.

Every end-to-end test runs the real Application built by ``build_application`` against
``FakeTelegram``. Handler exceptions are collected by an extra error handler and fail the test
at teardown, as do calls to Bot API methods the fake does not know.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import build_application
from bot.core.ask.ready import AskerLoader
from bot.core.ask.search import build_asker
from bot.core.checks import load_content
from bot.core.content import Content
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import metadata
from bot.telegram.context import FinlitApplication, FinlitContext
from bot.telegram.pacing import Limits, Pacing
from bot.telegram.processing import DurableApplication
from bot.telegram.services import Services
from tests.backends import PostgresDatabases, require
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.resident import TelegramUser

# Opt in to PTB's timedelta durations, as the app does; the old ints warn (and warnings fail).
os.environ.setdefault("PTB_TIMEDELTA", "true")

REPO = Path(__file__).resolve().parents[1]
FIXTURE_TOPIC = REPO / "tests" / "fixtures" / "mini-topic.yaml"
FIXTURE_ASSESSMENT = REPO / "tests" / "fixtures" / "mini-assessment.yaml"


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A valid content directory: the real UI and templates with a tiny fixture topic."""
    root = tmp_path / "content"
    shutil.copytree(REPO / "content" / "ui", root / "ui")
    shutil.copytree(REPO / "content" / "templates", root / "templates")
    (root / "topics").mkdir()
    shutil.copy(FIXTURE_TOPIC, root / "topics" / "mini.yaml")
    shutil.copy(FIXTURE_ASSESSMENT, root / "assessment.yaml")
    shutil.copy(REPO / "content" / "profile.yaml", root / "profile.yaml")
    shutil.copy(REPO / "content" / "privacy.yaml", root / "privacy.yaml")
    return root


@pytest.fixture(scope="session")
def content() -> Content:
    """The real curriculum, loaded and checked once."""
    return load_content(REPO / "content")


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """This run's PostgreSQL template database, made on first use and dropped at the end."""
    databases = PostgresDatabases()
    yield databases
    databases.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that runs the bot (it asks for ``settings``) runs on SQLite and PostgreSQL;
    ``@pytest.mark.sqlite_only`` keeps one on SQLite (it is about SQLite's own files)."""
    if "database" in metafunc.fixturenames:
        if metafunc.definition.get_closest_marker("sqlite_only"):
            metafunc.parametrize("database", ["sqlite"])
        else:
            metafunc.parametrize(
                "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
            )


@pytest.fixture
def database_url(
    database: str, tmp_path: Path, postgres_databases: PostgresDatabases
) -> Iterator[str]:
    """The bot's database for one test: a SQLite file, or a fresh PostgreSQL database."""
    if database == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/finlit.db"
        return
    require(postgres_databases)
    name, url = postgres_databases.new()
    try:
        yield url
    finally:
        postgres_databases.release(name)


@pytest.fixture
def empty_postgres(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """A PostgreSQL database with no schema at all (a first start), dropped afterwards."""
    require(postgres_databases)
    name, url = postgres_databases.new_empty()
    try:
        yield url
    finally:
        postgres_databases.drop(name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token="123456:test-token",
        database_url=database_url,
        default_language="zh",
        admin_ids=frozenset(),
    )


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


# Where finlit logs a failure that no handler saw (handlers' own go to the error handlers).
LOGGED_FAILURES = ("bot.telegram.dispatch", "bot.telegram.delivery", "bot.telegram.processing")


class _LoggedErrors(logging.Handler):
    """Exceptions finlit logs at ERROR outside a handler, collected as handler errors are."""

    def __init__(self, errors: list[BaseException]) -> None:
        super().__init__(logging.ERROR)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


# The search for typed questions, built once per content for the whole run (the real one
# takes a second or two); kept with its content so the id is never reused.
_ASKERS: dict[int, tuple[Content, AskerLoader]] = {}


def built_asker(content: Content) -> AskerLoader:
    """A ready asker over ``content``, shared by every test that runs the bot on it."""
    if id(content) not in _ASKERS:
        _ASKERS[id(content)] = (content, AskerLoader.built(build_asker(content)))
    return _ASKERS[id(content)][1]


class Harness:
    """A running finlit on the fake Bot API, restartable on the same database."""

    def __init__(
        self,
        fake: FakeTelegram,
        settings: Settings,
        content: Content,
        asker: AskerLoader | None = None,
    ) -> None:
        self.fake, self.settings, self.content = fake, settings, content
        self.asker = asker
        self.errors: list[BaseException] = []
        self.waits: list[float] = []  # what the rate limiter would have slept
        self._skipped = 0.0
        self._app: FinlitApplication | None = None
        self._catcher = _LoggedErrors(self.errors)

    async def start(self) -> FinlitApplication:
        async def no_wait(seconds: float) -> None:
            self.waits.append(seconds)
            self._skipped += seconds  # the limiter's clock moves on as if it had slept

        # Retries as in production, but no pacing and no real waiting: conversations in tests
        # would otherwise take a second per message. tests/telegram/test_delivery.py covers it.
        pacing = Pacing(
            limits=Limits.unlimited(),
            sleep=no_wait,
            clock=lambda: time.monotonic() + self._skipped,
        )
        app = build_application(
            self.settings,
            request=self.fake,
            content=self.content,
            pacing=pacing,
            asker=self.asker or built_asker(self.content),
        )

        async def collect(update: object, context: FinlitContext) -> None:
            if context.error is not None:
                self.errors.append(context.error)

        app.add_error_handler(collect)
        # Failures outside the handlers (handling slots, delivery) are logged: they fail tests too.
        for name in LOGGED_FAILURES:
            logging.getLogger(name).addHandler(self._catcher)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)  # run_polling would call it
        self._app = app
        await self.settled()  # what the last stop left: handled and sent
        return app

    @property
    def app(self) -> FinlitApplication:
        """The running Application (between ``start`` and ``stop``)."""
        assert self._app is not None, "the bot is not running"
        return self._app

    async def stop(self) -> None:
        if self._app is not None:
            assert self._app.post_shutdown is not None
            await self._app.post_shutdown(self._app)
            await self._app.shutdown()
            self._app = None
        for name in LOGGED_FAILURES:
            logging.getLogger(name).removeHandler(self._catcher)

    async def restart(self, *users: TelegramUser) -> None:
        """A new process on the same database: nothing carried over in memory."""
        await self.stop()
        app = await self.start()
        for user in users:
            user.app = app

    async def settled(self) -> None:
        """Wait until every update is handled and every reply sent (or given up)."""
        assert isinstance(self.app, DurableApplication)
        await self.app.settled()

    def resident(self, **kwargs: Any) -> TelegramUser:
        return TelegramUser(self.fake, self.app, **kwargs)

    async def database_text(self) -> str:
        """Every value in every table of the bot's database, as one text (to show that
        something a resident typed is nowhere in it)."""
        async with self.store.engine.connect() as conn:
            rows = [
                repr(tuple(row))
                for table in metadata.sorted_tables
                for row in await conn.execute(sa.select(table))
            ]
        return "\n".join(rows)

    @property
    def services(self) -> Services:
        """The running bot's services (opened by post_init)."""
        assert self.app.bot_data.services is not None
        return self.app.bot_data.services

    @property
    def store(self) -> Store:
        return self.services.store


@contextlib.asynccontextmanager
async def running(harness: Harness) -> AsyncIterator[Harness]:
    """``harness`` started, and stopped afterwards: then a handler error or a Bot API method
    the fake does not know fails the test (fixtures yield from this)."""
    await harness.start()
    yield harness
    await harness.stop()
    assert harness.errors == [], f"handlers raised: {harness.errors!r}"
    unknown = harness.fake.unknown_methods
    assert unknown == [], f"unknown Bot API methods: {unknown}"


@pytest.fixture
async def bot(fake: FakeTelegram, settings: Settings, content: Content) -> AsyncIterator[Harness]:
    async with running(Harness(fake, settings, content)) as harness:
        yield harness


# The administrator's Telegram id, in the tests that have one.
ADMIN = 900


@pytest.fixture
async def admin_bot(
    fake: FakeTelegram, settings: Settings, content: Content
) -> AsyncIterator[Harness]:
    """The running bot with ``ADMIN`` as its one administrator."""
    configured = settings.model_copy(update={"admin_ids": frozenset({ADMIN})})
    async with running(Harness(fake, configured, content)) as harness:
        yield harness
