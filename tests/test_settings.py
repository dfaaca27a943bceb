"""Configuration: defaults, parsing, and one clear line (exit 2) for anything malformed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.fakes.process import run_finlit

REPO = Path(__file__).resolve().parents[1]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "ADMIN_IDS", "DEFAULT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.telegram_bot_token is None
    assert settings.database_url == "sqlite+aiosqlite:///data/finlit.db"
    assert settings.admin_ids == frozenset()
    assert settings.default_language == "zh"


def test_retention_and_secret_file_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "WEBHOOK_SECRET_FILE", "UNCONSENTED_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert (
        settings.unconsented_retention_days,
        settings.audit_retention_days,
        settings.broadcast_retention_days,
        settings.delivery_retention_days,
    ) == (30, 365, 365, 30)
    # A generated webhook secret lives next to the database, never in it.
    assert settings.secret_file == Path("data/webhook-secret")
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:////var/lib/finlit/finlit.db")
    monkeypatch.setenv("UNCONSENTED_RETENTION_DAYS", "7")
    settings = Settings(_env_file=None)
    assert settings.secret_file == Path("/var/lib/finlit/webhook-secret")
    assert settings.unconsented_retention_days == 7
    monkeypatch.setenv("WEBHOOK_SECRET_FILE", "/run/secrets/finlit-webhook")
    assert Settings(_env_file=None).secret_file == Path("/run/secrets/finlit-webhook")


def test_admin_ids_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", " 12, 345 ,")
    assert Settings(_env_file=None).admin_ids == frozenset({12, 345})


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:very-secret")
    settings = Settings(_env_file=None)
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {},
            "finlit: configuration error: TELEGRAM_BOT_TOKEN: required to run the bot (set it in the environment or in .env)",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "nonsense"},
            "finlit: configuration error: TELEGRAM_BOT_TOKEN: does not look like a bot token (expected 123456:ABC...)",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "1:a", "ADMIN_IDS": "12,bob"},
            "finlit: configuration error: ADMIN_IDS: must be comma-separated Telegram user ids (numbers)",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "1:a", "DEFAULT_LANGUAGE": "fr"},
            "finlit: configuration error: DEFAULT_LANGUAGE: Input should be 'zh' or 'en'",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_API_BASE_URL": "localhost:8081"},
            "finlit: configuration error: TELEGRAM_API_BASE_URL: must be an http:// or https:// URL, e.g. http://127.0.0.1:8081/bot",
        ),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(
    env: dict[str, str], line: str, tmp_path: Path
) -> None:
    result = run_finlit("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == line + "\n"
    assert result.stdout == ""


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_IDS=oops\n", encoding="utf-8")
    result = run_finlit("content", "check", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "ADMIN_IDS" in result.stderr
