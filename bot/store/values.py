"""What the feature repositories share: their clock, UTC datetimes, and rows as plain data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The time now, in UTC (the store's clock unless a test gives another)."""
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC: SQLite hands back naive datetimes, and everything is stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-ready data: datetimes as ISO text, stored id lists as lists."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dt.datetime):
            value = aware(value).isoformat()
        elif key in ("question_ids", "item_ids"):
            value = json.loads(value)
        out[key] = value
    return out
