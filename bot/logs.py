"""Logging that never carries the token, message texts or names.

python-telegram-bot logs every request with its parameters and every update at DEBUG, and httpx
logs request URLs (which contain the token) at INFO, so those libraries are held at WARNING or
INFO whatever LOG_LEVEL says; LOG_LEVEL=DEBUG is for finlit's own loggers. A filter also replaces
the token wherever it might still appear.
"""

from __future__ import annotations

import logging

from bot.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that may print request parameters, update contents or URLs at lower levels.
# SQLAlchemy and aiosqlite log statements with their parameters, which include inbox payloads.
_QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "alembic": logging.INFO,
}


class RedactToken(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secret:
            return True
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "[token]"), None
        if record.exc_info and not record.exc_text:
            # Exception messages can quote the token too (python-telegram-bot's InvalidToken
            # does): the traceback is rendered here, redacted, and the handler prints that.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, "[token]")
        return True


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format=FORMAT, force=True)
    for name, floor in _QUIET.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(settings.log_level)))
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(token))
