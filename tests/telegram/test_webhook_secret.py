"""Replicas share one webhook secret: with PostgreSQL it comes from the operator, never generated.

Each test runs ``finlit run --webhook`` as a real process on a PostgreSQL database of its own,
behind the fake Bot API served over HTTP.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.telegram.webhook import SECRET_HEADER
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.process import FinlitProcess, eventually
from tests.fakes.server import FakeTelegramServer
from tests.telegram.test_webhook import free_port

pytestmark = pytest.mark.postgres

SECRET = "replicas-share-this-secret_0123456789"
TOKEN = "424242:secret-test-token"
MAKE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


async def tables(url: str) -> list[str]:
    parts = make_url(url)
    conn = await asyncpg.connect(
        host=parts.host, port=parts.port, user=parts.username, database=parts.database
    )
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return sorted(row["tablename"] for row in rows)


async def finlit_run(
    database_url: str, env: dict[str, str], cwd: Path, *, server_url: str
) -> tuple[int, str, str]:
    """``finlit run --webhook`` expected to stop on its own: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--webhook",
        cwd=cwd,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": server_url,
            "DATABASE_URL": database_url,
            "WEBHOOK_URL": "https://bot.example.org/telegram",
            "PORT": str(free_port()),
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return int(process.returncode or 0), out.decode(), err.decode()


def secret_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "webhook-secret"
    path.write_text(text, encoding="ascii")
    path.chmod(0o600)
    return path


async def test_without_a_secret_a_replica_refuses_to_start_and_touches_nothing(
    empty_postgres: str, tmp_path: Path
) -> None:
    fake = FakeTelegram()
    async with FakeTelegramServer(fake) as server:
        status, out, err = await finlit_run(
            empty_postgres, {}, tmp_path, server_url=server.base_url
        )
    assert (status, out) == (2, "")
    assert err == (
        "finlit: configuration error: WEBHOOK_SECRET: required in webhook mode with PostgreSQL, "
        "the same for every replica: set WEBHOOK_SECRET, or WEBHOOK_SECRET_FILE to a file that "
        f"holds it (make one with: {MAKE})\n"
    )
    assert fake.calls_of("setWebhook") == []
    assert await tables(empty_postgres) == []  # refused before migrating
    assert not (tmp_path / "data").exists()  # and nothing generated


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "does not exist; with PostgreSQL it is not generated"),
        ("", "holds no webhook secret"),
        ("too-short", "holds no webhook secret"),
        (SECRET + " and more words", "holds no webhook secret"),
    ],
)
async def test_a_missing_or_malformed_secret_file_is_refused_in_one_line(
    empty_postgres: str, tmp_path: Path, text: str | None, says: str
) -> None:
    path = tmp_path / "webhook-secret" if text is None else secret_file(tmp_path, text)
    fake = FakeTelegram()
    async with FakeTelegramServer(fake) as server:
        status, out, err = await finlit_run(
            empty_postgres,
            {"WEBHOOK_SECRET_FILE": str(path)},
            tmp_path,
            server_url=server.base_url,
        )
    assert (status, out) == (2, "")
    assert err.startswith(f"finlit: configuration error: WEBHOOK_SECRET_FILE: {path} {says}")
    assert MAKE in err
    assert err.count("\n") == 1
    assert not path.exists() or path.read_text(encoding="ascii") == text
    assert fake.calls_of("setWebhook") == []


async def serve_one_update(
    database_url: str, env: dict[str, str], tmp_path: Path, *, replicas: int = 1
) -> FakeTelegram:
    """Start ``replicas`` processes with ``env``; post /start to the first; stop them all."""
    fake = FakeTelegram()
    ports = [free_port() for _ in range(replicas)]
    async with FakeTelegramServer(fake) as server:
        bots = [
            FinlitProcess(
                server,
                database_url=database_url,
                args=("run", "--webhook"),
                cwd=tmp_path,
                token=TOKEN,
                env={"WEBHOOK_URL": "https://bot.example.org/telegram", "PORT": str(port), **env},
            )
            for port in ports
        ]
        for bot in bots:
            await bot.start()
        try:
            await eventually(lambda: len(fake.calls_of("setWebhook")) == replicas, seconds=60)
            update = {
                "update_id": 91,
                "message": {
                    "message_id": 1,
                    "date": 1_700_000_000,
                    "from": {
                        "id": 777,
                        "is_bot": False,
                        "first_name": "Mei",
                        "language_code": "en",
                    },
                    "chat": {"id": 777, "type": "private", "first_name": "Mei"},
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                },
            }
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{ports[0]}", trust_env=False
            ) as client:
                wrong = await client.post("/telegram", json=update, headers={SECRET_HEADER: "x"})
                assert wrong.status_code == 403
                right = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
                assert right.status_code == 200
            await eventually(lambda: fake.sent_texts(777))
        finally:
            logs = [await bot.stop() for bot in bots]
    for status, log in logs:
        assert status == 0, log
        assert SECRET not in log
    assert "Welcome to finlit" in fake.sent_texts(777)[0]
    return fake


async def test_a_replica_registers_the_secret_from_the_environment(
    empty_postgres: str, tmp_path: Path
) -> None:
    fake = await serve_one_update(empty_postgres, {"WEBHOOK_SECRET": SECRET}, tmp_path)
    assert [c.params["secret_token"] for c in fake.calls_of("setWebhook")] == [SECRET]
    assert not (tmp_path / "data").exists()  # nothing generated beside it


async def test_replicas_register_the_one_secret_of_the_operators_file(
    empty_postgres: str, tmp_path: Path
) -> None:
    path = secret_file(tmp_path, SECRET + "\n")
    fake = await serve_one_update(
        empty_postgres, {"WEBHOOK_SECRET_FILE": str(path)}, tmp_path, replicas=2
    )
    assert [c.params["secret_token"] for c in fake.calls_of("setWebhook")] == [SECRET, SECRET]
    assert path.read_text(encoding="ascii") == SECRET + "\n"  # read, never rewritten
