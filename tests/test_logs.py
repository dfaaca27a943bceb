"""Logs never carry the token, even inside an exception's traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from telegram.error import InvalidToken

from bot.logs import configure_logging
from bot.settings import Settings

TOKEN = "123456:never-in-the-logs"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {
        name: logging.getLogger(name).level
        for name in ("httpx", "httpcore", "telegram", "sqlalchemy", "aiosqlite", "alembic")
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.fixture
def captured() -> io.StringIO:
    stream = io.StringIO()
    configure_logging(Settings(_env_file=None, telegram_bot_token=SecretStr(TOKEN)))
    root = logging.getLogger()
    for handler in root.handlers:
        assert isinstance(handler, logging.StreamHandler)  # logging.basicConfig's
        handler.setStream(stream)
    return stream


def test_token_redacted_from_messages_and_tracebacks(captured: io.StringIO) -> None:
    log = logging.getLogger("finlit.test")
    log.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    except InvalidToken:
        log.exception("start failed")
    output = captured.getvalue()
    assert TOKEN not in output
    assert output.count("[token]") == 2
    assert "InvalidToken" in output


def test_library_loggers_stay_quiet_at_debug() -> None:
    configure_logging(Settings(_env_file=None, log_level="DEBUG"))
    for name in ("httpx", "sqlalchemy", "aiosqlite", "telegram"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    assert logging.getLogger("bot.core").isEnabledFor(logging.DEBUG)
