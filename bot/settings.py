"""Configuration: one validated model, read from the environment and a ``.env`` file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.core.i18n import Language

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where Telegram POSTs updates when WEBHOOK_URL names no path of its own.
DEFAULT_WEBHOOK_PATH = "/telegram"
# Telegram's alphabet for a webhook's secret_token (at most 256 characters), and finlit's floor:
# 32 characters of 64 kinds are 192 bits, far beyond guessing.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")
# prometheus_client's switch for its multiprocess mode (bot/telegram/metrics.py).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def valid_webhook_secret(value: str) -> bool:
    """Whether ``value`` may serve as WEBHOOK_SECRET."""
    return _WEBHOOK_SECRET.fullmatch(value) is not None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    database_url: str = "sqlite+aiosqlite:///data/finlit.db"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_language: Language = "zh"
    content_dir: Path = Field(default=PROJECT_ROOT / "content")
    log_level: str = "INFO"
    # Statistics never show a figure about fewer residents than this.
    min_group_size: int = Field(default=5, ge=2, le=100)
    # Key for the pseudonymous resident ids in answer-level exports (keep it secret and stable).
    pseudonym_key: SecretStr | None = None
    # For links printed outside Telegram (the preview); the bot itself asks Telegram its name.
    bot_username: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
    # Webhook mode (`finlit run --webhook`, or WEBHOOK_URL set): the public https URL Telegram
    # POSTs to, the secret it sends back, where to listen. On SQLite a secret left unset is
    # generated once and kept; on PostgreSQL (replicas) the operator must give the same one to
    # every process (bot/telegram/webhook.py, ``configured_secret``).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Without WEBHOOK_SECRET: the file that holds the secret (mode 600), never the database. On
    # SQLite a single process generates it there; unset: "webhook-secret" next to the database.
    # On PostgreSQL the operator provides it (e.g. a Compose secret); nothing is generated.
    webhook_secret_file: Path | None = None
    listen_host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Retention, in days (deploy/README.md): residents who never accepted the privacy notice,
    # administrators' audit log, broadcasts (text and counters), who received each broadcast.
    unconsented_retention_days: int = Field(default=30, ge=1, le=3650)
    audit_retention_days: int = Field(default=365, ge=1, le=3650)
    broadcast_retention_days: int = Field(default=365, ge=1, le=3650)
    delivery_retention_days: int = Field(default=30, ge=1, le=3650)
    # Several processes on one PostgreSQL database: a process silent this long is taken for
    # dead, and the others take over its chats, its unhandled updates and its broadcast claims.
    replica_lease_seconds: float = Field(default=15.0, ge=1.0, le=600.0)
    # Where a clean stop writes the Prometheus figures (polling mode serves no /metrics).
    metrics_file: Path | None = None
    # Replicas on one host: the directory where every process writes its Prometheus figures, so
    # /metrics from any of them reports all (bot/telegram/metrics.py). prometheus_client reads
    # the variable from the environment itself, when imported; it is checked here so that a
    # wrong one is one clear line instead of a traceback.
    prometheus_multiproc_dir: Path | None = None

    @property
    def shared_database(self) -> bool:
        """Whether several processes may share the database (PostgreSQL): replicas."""
        return make_url(self.database_url).get_backend_name() != "sqlite"

    @property
    def secret_file(self) -> Path:
        """Where a generated webhook secret is kept: WEBHOOK_SECRET_FILE or the data directory."""
        if self.webhook_secret_file is not None:
            return self.webhook_secret_file
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(str(url.database)).expanduser().parent / "webhook-secret"
        return Path("data") / "webhook-secret"

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("must be comma-separated Telegram user ids (numbers)")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("telegram_bot_token", mode="after")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, _, secret = value.get_secret_value().partition(":")
            if not bot_id.isdigit() or not secret:
                raise ValueError("does not look like a bot token (expected 123456:ABC...)")
        return value

    @field_validator("telegram_api_base_url", mode="after")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8081/bot")
        return value or None

    @field_validator("log_level", mode="after")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("webhook_url", mode="after")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be an https:// URL, e.g. https://bot.example.org/telegram")
        if parts.path in ("", "/"):
            value = parts._replace(path=DEFAULT_WEBHOOK_PATH).geturl()
        return value

    @field_validator("prometheus_multiproc_dir", mode="after")
    @classmethod
    def _multiproc_dir(cls, value: Path | None) -> Path | None:
        if value is None or not str(value):
            return None
        if not value.is_dir() or not os.access(value, os.W_OK | os.X_OK):
            raise ValueError(f"{value} must be an existing directory finlit can write to")
        if Path(os.environ.get(MULTIPROC_ENV, "")) != value:
            # Only in .env: prometheus_client, which reads the environment, would not see it.
            raise ValueError("must be set in the environment itself, not only in .env")
        return value

    @field_validator("webhook_secret", mode="after")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not valid_webhook_secret(value.get_secret_value()):
            raise ValueError("must be 32-256 characters of A-Z, a-z, 0-9, _ and -")
        return value
