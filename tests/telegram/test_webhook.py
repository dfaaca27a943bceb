"""Webhook mode: the secret, the durable inbox before the 200, /healthz, /metrics, shutdown."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from telegram.error import BadRequest

from bot.app import build_application
from bot.core.content import Content
from bot.settings import Settings
from bot.store import Store
from bot.telegram.context import FinlitApplication, FinlitContext
from bot.telegram.metrics import METRICS
from bot.telegram.webhook import (
    SECRET_HEADER,
    ListenError,
    RefusalLog,
    SecretFileError,
    build_web_app,
    resolve_secret,
    secret_from_file,
    serve_webhook,
)
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.process import FinlitProcess, eventually, run_finlit
from tests.fakes.records import JSON
from tests.fakes.resident import TelegramUser
from tests.fakes.server import FakeTelegramServer

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cret_-token-of-32-characters-or-more"
ALLOWED = ["message", "callback_query", "my_chat_member"]
METRIC_LINE = re.compile(
    r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_]+=\"[^\"]*\"\})? (-?[0-9.]+(e[+-]?[0-9]+)?|\+Inf|NaN)"
)


def collect_errors(app: FinlitApplication) -> list[BaseException]:
    errors: list[BaseException] = []

    async def collect(update: object, context: FinlitContext) -> None:
        if context.error is not None:
            errors.append(context.error)

    app.add_error_handler(collect)
    return errors


class Running:
    """An Application on the fake, started (its queue consumed), with the web app in front."""

    def __init__(self, app: FinlitApplication, fake: FakeTelegram) -> None:
        self.app, self.fake = app, fake
        self.errors = collect_errors(app)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_web_app(app, secret=SECRET)),
            base_url="http://test",
        )

    @property
    def store(self) -> Store:
        assert self.app.bot_data.services is not None
        return self.app.bot_data.services.store

    def user(self, **kwargs: Any) -> TelegramUser:
        return TelegramUser(self.fake, self.app, **kwargs)

    async def post(self, update: JSON | bytes, secret: str | None = SECRET) -> httpx.Response:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        return await self.client.post("/telegram", content=body, headers=headers)

    async def idle(self) -> None:
        """Wait until every queued update has been taken and handled."""
        await eventually(lambda: self.app.update_queue.qsize() == 0)
        await self.app.update_queue.join()


@pytest.fixture
async def web(fake: FakeTelegram, settings: Settings, content: Content) -> AsyncIterator[Running]:
    app = build_application(settings, request=fake, content=content)
    running = Running(app, fake)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    await app.start()
    yield running
    await running.client.aclose()
    await app.stop()
    await app.post_shutdown(app)
    await app.shutdown()
    assert running.errors == [], f"handlers raised: {running.errors!r}"
    assert fake.unknown_methods == [], f"unknown Bot API methods: {fake.unknown_methods}"


# --------------------------------------------------------------------------- the webhook


async def test_update_with_the_secret_is_stored_then_handled(web: Running) -> None:
    user = web.user(language_code="en")
    update = user.text_update("/start")
    response = await web.post(update)
    assert response.status_code == 200
    # Stored before the 200: at the latest, it is in the inbox now (pending or done).
    pending = [u["update_id"] for u in await web.store.inbox.pending()]
    done = await web.store.inbox.done(update_id=update["update_id"])
    assert update["update_id"] in pending or done
    await eventually(lambda: web.fake.sent_texts(user.chat_id))
    assert "Welcome to finlit" in web.fake.sent_texts(user.chat_id)[0]


@pytest.mark.parametrize("secret", [None, "", "forged-9f2c", SECRET + "x", SECRET[:-1]])
async def test_wrong_or_missing_secret_is_refused_and_changes_nothing(
    web: Running, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    user = web.user()
    update = user.text_update("/start")
    before = METRICS.counters["finlit_webhook_rejected_total"]
    response = await web.post(update, secret=secret)
    assert response.status_code == 403
    assert METRICS.counters["finlit_webhook_rejected_total"] == before + 1
    assert web.app.update_queue.qsize() == 0
    await web.idle()
    assert await web.store.inbox.pending() == []
    assert not await web.store.inbox.done(update_id=update["update_id"])
    assert web.fake.sent_texts(user.chat_id) == []
    assert await web.store.residents.get(resident_id=user.chat_id) is None
    # Logged, without the body or the header's value.
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1
    assert "/start" not in refusals[0]
    if secret:
        assert secret not in refusals[0]


async def test_refused_requests_are_logged_at_most_once_a_period(
    fake: FakeTelegram, settings: Settings, content: Content, caplog: pytest.LogCaptureFixture
) -> None:
    """A flood of forged posts is counted one by one but fills no log: one line a period."""
    now = [1000.0]
    app = build_application(settings, request=fake, content=content)
    refusals = RefusalLog(period=60, clock=lambda: now[0])
    web_app = build_web_app(app, secret=SECRET, refusals=refusals)
    before = METRICS.counters["finlit_webhook_rejected_total"]
    transport = httpx.ASGITransport(app=web_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(100):
            assert (await client.post("/telegram", json={"update_id": 1})).status_code == 403
        now[0] += 60
        await client.post("/telegram", json={"update_id": 1}, headers={SECRET_HEADER: "x"})
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 2
    assert "missing secret token (0 more refused" in lines[0]
    assert "wrong secret token (99 more refused" in lines[1]
    assert METRICS.counters["finlit_webhook_rejected_total"] == before + 101


async def test_an_update_whose_private_chat_is_not_its_sender_is_dropped(web: Running) -> None:
    """With the secret, a forger could have one resident's /mydata sent to another chat."""
    victim = web.user(user_id=301, language_code="en")
    forger = web.user(user_id=302, language_code="en")
    update = victim.text_update("/mydata")
    update["message"]["chat"]["id"] = forger.chat_id
    before = METRICS.counters.get("finlit_webhook_forged_total", 0)
    response = await web.post(update)
    assert response.status_code == 200  # acknowledged, so nothing retries it
    await web.idle()
    assert METRICS.counters["finlit_webhook_forged_total"] == before + 1
    assert not await web.store.inbox.done(update_id=update["update_id"])
    assert await web.store.inbox.pending() == []
    assert web.fake.sent_texts(forger.chat_id) == web.fake.sent_texts(victim.chat_id) == []


def test_a_generated_secret_is_written_once_readable_only_by_us_and_printed_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data" / "webhook-secret"
    secret = secret_from_file(path)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert capsys.readouterr().out.count(secret) == 1
    assert secret_from_file(path) == secret
    assert capsys.readouterr().out == ""  # printed once, at generation only


def test_a_secret_file_others_can_read_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "webhook-secret"
    path.write_text(SECRET + "\n", encoding="ascii")
    path.chmod(0o644)
    assert secret_from_file(path) == SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["", "short", "has space" * 8])
def test_a_secret_file_without_a_valid_secret_stops_the_start(tmp_path: Path, content: str) -> None:
    path = tmp_path / "webhook-secret"
    path.write_text(content, encoding="ascii")
    path.chmod(0o600)
    with pytest.raises(SecretFileError, match="holds no webhook secret"):
        secret_from_file(path)


async def test_a_secret_an_older_finlit_kept_in_the_database_is_deleted(
    web: Running, settings: Settings, tmp_path: Path
) -> None:
    await web.store.state.set_once("webhook_secret", "legacy-secret-in-plain-text-0123456789")
    configured = settings.model_copy(update={"webhook_secret_file": tmp_path / "secret"})
    if settings.shared_database:  # PostgreSQL: the operator provides the file
        (tmp_path / "secret").write_text(SECRET + "\n", encoding="ascii")
    secret = await resolve_secret(web.app, configured)
    assert secret == (tmp_path / "secret").read_text(encoding="ascii").strip()
    assert await web.store.state.get("webhook_secret") is None
    with_env = configured.model_copy(update={"webhook_secret": SecretStr(SECRET)})
    assert await resolve_secret(web.app, with_env) == SECRET


async def test_a_redelivered_update_is_handled_once(web: Running) -> None:
    user = web.user(language_code="en")
    update = user.text_update("/start")
    assert (await web.post(update)).status_code == 200
    await eventually(lambda: web.fake.sent_texts(user.chat_id))
    await web.idle()
    # Telegram did not hear the 200 and sends it again: acknowledged, not handled again.
    assert (await web.post(update)).status_code == 200
    await web.idle()
    assert len(web.fake.sent_texts(user.chat_id)) == 1
    assert await web.store.inbox.done(update_id=update["update_id"])


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}', b"\xff\xfe"],
)
async def test_a_body_that_is_not_an_update_is_400(web: Running, body: bytes) -> None:
    assert (await web.post(body)).status_code == 400
    assert await web.store.inbox.pending() == []


async def test_only_post_on_the_webhook_path(web: Running) -> None:
    assert (await web.client.get("/telegram")).status_code == 405
    assert (await web.client.post("/other", headers={SECRET_HEADER: SECRET})).status_code == 404


# --------------------------------------------------------------------------- health, metrics


async def test_healthz(web: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    response = await web.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})

    async def unreachable() -> None:
        raise ConnectionError("database is gone")

    monkeypatch.setattr(web.store, "ping", unreachable)
    response = await web.client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "database unreachable"})


async def test_healthz_before_the_services_are_open(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    app = build_application(settings, request=fake, content=content)
    transport = httpx.ASGITransport(app=build_web_app(app, secret=SECRET))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/healthz")).status_code == 503
        # Nowhere to store an update yet: not acknowledged, so Telegram retries.
        user = TelegramUser(fake, app)
        response = await client.post(
            "/telegram", json=user.text_update("hi"), headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 503


async def test_metrics_in_prometheus_text_format(web: Running) -> None:
    await web.post(web.user().text_update("/start"), secret="wrong")
    response = await web.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for name in (
        "finlit_updates_handled_total",
        "finlit_handler_errors_total",
        "finlit_send_retries_total",
        "finlit_flood_waits_total",
        "finlit_webhook_rejected_total",
        "finlit_queue_depth",
        "finlit_update_latency_seconds_bucket",
        "finlit_update_latency_seconds_sum",
        "finlit_update_latency_seconds_count",
    ):
        assert re.search(rf"^{name}[ {{]", text, re.MULTILINE), name
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or METRIC_LINE.fullmatch(line), line
    rejected = re.search(r"^finlit_webhook_rejected_total (\S+)$", text, re.MULTILINE)
    assert rejected is not None and float(rejected.group(1)) >= 1


async def test_queue_depth_is_the_update_queue(web: Running) -> None:
    await web.app.stop()  # nothing takes updates from the queue now
    try:
        user = web.user()
        for text in ("a", "b"):
            assert (await web.post(user.text_update(text))).status_code == 200
        text = (await web.client.get("/metrics")).text
        depth = re.search(r"^finlit_queue_depth (\S+)$", text, re.MULTILINE)
        assert depth is not None and float(depth.group(1)) == 2
    finally:
        await web.app.start()
    await eventually(lambda: len(web.fake.sent_texts(user.chat_id)) == 2)


# --------------------------------------------------------------------------- settings


def test_webhook_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "LISTEN_HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert (settings.webhook_url, settings.webhook_secret) == (None, None)
    assert (settings.listen_host, settings.port) == ("127.0.0.1", 8080)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    monkeypatch.setenv("WEBHOOK_SECRET", "A-z_09" * 40)
    monkeypatch.setenv("LISTEN_HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8443")
    settings = Settings(_env_file=None)
    assert settings.webhook_url == "https://bot.example.org/telegram"
    assert settings.webhook_secret is not None
    assert "A-z_09" not in repr(settings)
    assert (settings.listen_host, settings.port) == ("0.0.0.0", 8443)
    assert Settings(_env_file=None, webhook_url="https://x.org/hook/a").webhook_url == (
        "https://x.org/hook/a"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("webhook_url", "http://bot.example.org/telegram"),
        ("webhook_url", "bot.example.org"),
        ("webhook_url", "https:///telegram"),
        ("webhook_secret", "has space"),
        ("webhook_secret", "ünï"),
        ("webhook_secret", "x" * 257),
        ("webhook_secret", "x" * 31),  # Telegram would take it; too easy to guess
        ("unconsented_retention_days", 0),
        ("port", 0),
        ("port", 65536),
    ],
)
def test_bad_webhook_settings_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{field: value})


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (
            ["--webhook"],
            {},
            "finlit: configuration error: WEBHOOK_URL: required for --webhook (the public https:// URL Telegram sends updates to)",
        ),
        (
            [],
            {"WEBHOOK_URL": "http://bot.example.org/telegram"},
            "finlit: configuration error: WEBHOOK_URL: must be an https:// URL, e.g. https://bot.example.org/telegram",
        ),
        (
            [],
            {"WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": "no spaces"},
            "finlit: configuration error: WEBHOOK_SECRET: must be 32-256 characters of A-Z, a-z, 0-9, _ and -",
        ),
        (
            [],
            {"PORT": "http"},
            "finlit: configuration error: PORT: Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_bad_webhook_configuration_is_one_line_and_exit_2(
    args: list[str], env: dict[str, str], line: str, tmp_path: Path
) -> None:
    result = run_finlit("run", *args, env={"TELEGRAM_BOT_TOKEN": "1:a", **env}, cwd=tmp_path)
    assert (result.returncode, result.stderr, result.stdout) == (2, line + "\n", "")


def test_a_bad_secret_file_on_sqlite_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("not a secret", encoding="ascii")
    (tmp_path / "secret").chmod(0o600)
    env = {
        "TELEGRAM_BOT_TOKEN": "1:a",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/finlit.db",
        "WEBHOOK_URL": "https://bot.example.org",
        "WEBHOOK_SECRET_FILE": str(tmp_path / "secret"),
        "PORT": str(free_port()),
    }
    result = run_finlit("run", env=env, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(
        f"finlit: configuration error: WEBHOOK_SECRET_FILE: {tmp_path}/secret holds no webhook "
        "secret (it must be one line of 32-256 characters"
    )
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- serve_webhook


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_settings(settings: Settings, port: int, **extra: Any) -> Settings:
    """Webhook mode; on SQLite a generated secret goes next to the test's database (the
    default), on PostgreSQL the secret is configured (replicas share it)."""
    if settings.shared_database:
        extra.setdefault("webhook_secret", SECRET)
    values = settings.model_dump() | {
        "webhook_url": "https://bot.example.org/hook",
        "listen_host": "127.0.0.1",
        "port": port,
        **extra,
    }
    return Settings(_env_file=None, **values)


async def serve_once(fake: FakeTelegram, settings: Settings, content: Content, user_id: int) -> str:
    """One process's life in webhook mode; the secret it registered."""
    base = f"http://127.0.0.1:{settings.port}"
    app = build_application(settings, request=fake, content=content)
    errors = collect_errors(app)
    stop = asyncio.Event()
    fake.reset_calls()
    serving = asyncio.create_task(serve_webhook(app, settings, stop=stop))
    try:
        await eventually(lambda: fake.calls_of("setWebhook") or serving.done())
        (call,) = fake.calls_of("setWebhook")
        assert call.params["url"] == "https://bot.example.org/hook"
        assert call.params["allowed_updates"] == ALLOWED
        secret = str(call.params["secret_token"])
        assert app.bot_data.services is not None
        # Kept in a file only the service user can read, never in the database.
        assert await app.bot_data.services.store.state.get("webhook_secret") is None
        assert settings.secret_file.read_text(encoding="ascii").strip() == secret
        assert stat.S_IMODE(settings.secret_file.stat().st_mode) == 0o600
        user = TelegramUser(fake, app, user_id=user_id, language_code="en")
        update = user.text_update("/start")
        async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            refused = await client.post("/hook", json=update)
            assert refused.status_code == 403
            accepted = await client.post("/hook", json=update, headers={SECRET_HEADER: secret})
            assert accepted.status_code == 200
        # Stop at once: the update already acknowledged is still handled before the end.
        stop.set()
        await asyncio.wait_for(serving, timeout=30)
    finally:
        stop.set()
        if not serving.done():
            serving.cancel()
    assert "Welcome to finlit" in fake.sent_texts(user.chat_id)[0]
    assert errors == []
    # Shut down cleanly: the database is closed, the webhook left registered.
    assert app.bot_data.services is None
    assert not app.running
    assert fake.calls_of("deleteWebhook") == []
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
            await client.get("/healthz")
    return secret


@pytest.mark.sqlite_only  # a generated secret: PostgreSQL refuses to generate one
async def test_serve_webhook_end_to_end(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    settings = webhook_settings(settings, free_port())
    first = await serve_once(fake, settings, content, user_id=2000)
    # A restart uses the secret the first process generated and kept in its file.
    second = await serve_once(fake, settings, content, user_id=2001)
    assert first == second
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", first)
    assert fake.unknown_methods == []


async def test_serve_webhook_uses_the_configured_secret(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    settings = webhook_settings(settings, free_port(), webhook_secret=SECRET)
    app = build_application(settings, request=fake, content=content)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_webhook(app, settings, stop=stop))
    await eventually(lambda: fake.calls_of("setWebhook") or serving.done())
    stop.set()
    await asyncio.wait_for(serving, timeout=30)
    assert fake.calls_of("setWebhook")[0].params["secret_token"] == SECRET


async def test_finlit_run_webhook_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    fake = FakeTelegram()
    port = free_port()
    async with FakeTelegramServer(fake) as server:
        bot = FinlitProcess(
            server,
            database_url=f"sqlite+aiosqlite:///{tmp_path}/finlit.db",
            args=("run", "--webhook"),
            cwd=tmp_path,
            token="424242:webhook-test-secret-token",
            env={
                "WEBHOOK_URL": "https://bot.example.org",
                "WEBHOOK_SECRET": SECRET,
                "PORT": str(port),
                "LOG_LEVEL": "DEBUG",
            },
        )
        async with bot:
            await eventually(lambda: fake.calls_of("setWebhook"), seconds=30)
            assert (
                fake.calls_of("setWebhook")[0].params["url"] == "https://bot.example.org/telegram"
            )
            user = {"id": 555, "is_bot": False, "first_name": "Lan", "language_code": "en"}
            update = {
                "update_id": 77,
                "message": {
                    "message_id": 1,
                    "date": 1_700_000_000,
                    "from": user,
                    "chat": {"id": 555, "type": "private", "first_name": "Lan"},
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                },
            }
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False
            ) as client:
                response = await client.post(
                    "/telegram", json=update, headers={SECRET_HEADER: SECRET}
                )
                assert response.status_code == 200
                forged = await client.post("/telegram", json=update | {"update_id": 78})
                assert forged.status_code == 403
            returncode, log = await bot.stop()
    assert returncode == 0, log
    assert "Welcome to finlit" in fake.sent_texts(555)[0]
    assert "refused: wrong secret token" in log or "refused: missing secret token" in log
    for secret in ("webhook-test-secret-token", SECRET, "Lan"):
        assert secret not in log
    with sqlite3.connect(tmp_path / "finlit.db") as db:
        rows = db.execute("select update_id from inbox order by update_id").fetchall()
    assert rows == [(77,)]


async def test_serve_webhook_cleans_up_when_telegram_refuses_the_webhook(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    settings = webhook_settings(settings, free_port())
    app = build_application(settings, request=fake, content=content)
    fake.fail_next("setWebhook", status=400, description="Bad Request: bad webhook: no")
    with pytest.raises(BadRequest, match="Bad webhook"):
        await asyncio.wait_for(serve_webhook(app, settings), timeout=30)
    assert app.bot_data.services is None
    assert not app.running
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(f"http://127.0.0.1:{settings.port}/healthz")


async def test_serve_webhook_when_the_port_is_taken(
    fake: FakeTelegram, settings: Settings, content: Content
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = webhook_settings(settings, taken.getsockname()[1])
        app = build_application(settings, request=fake, content=content)
        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{settings.port}"):
            await serve_webhook(app, settings)
    assert app.bot_data.services is None
    assert fake.calls_of("setWebhook") == []
