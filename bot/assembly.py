"""The administrators' desk put together from the settings, for every channel that offers it.

Telegram (``bot.app``), the preview and ``finlit stats`` all build the same desk; building it
here, once, keeps them from drifting apart (a pseudonym key or link prefix forgotten in one).
"""

from __future__ import annotations

from bot.core.admin import AdminDesk, bot_link_prefix
from bot.core.content import Content
from bot.pictures import Pictures
from bot.settings import Settings
from bot.store import Store
from bot.store.reports import Reports


def admin_desk(
    settings: Settings, content: Content, store: Store, *, username: str | None = None
) -> AdminDesk:
    """The administrators' desk; cohort links point at ``username`` (or the configured one)."""
    key = settings.pseudonym_key
    return AdminDesk(
        content=content,
        store=store,
        reports=Reports(store.engine),
        pictures=Pictures(),
        admin_ids=settings.admin_ids,
        min_group=settings.min_group_size,
        pseudonym_key=key.get_secret_value().encode() if key else None,
        link_prefix=bot_link_prefix(username or settings.bot_username),
    )
