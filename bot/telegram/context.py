"""Typed services for handlers, instead of string keys into bot_data."""

from __future__ import annotations

import dataclasses
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.content import Content
from bot.core.tutor import Tutor
from bot.settings import Settings
from bot.store import Store


@dataclasses.dataclass
class Services:
    settings: Settings
    content: Content
    store: Store
    tutor: Tutor


class BotData:
    """The application's bot_data: the services, once post_init has opened them."""

    def __init__(self) -> None:
        self.services: Services | None = None
        # Needed before the store is open (post_init), so kept apart from Services.
        self.settings: Settings | None = None
        self.content: Content | None = None
        # Administrators whose own command menu this process has set.
        self.admin_menus: set[int] = set()


class FinlitContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are opened in post_init; the application is not running")
        return services


# The bot type is left open: production uses InboxBot, a subclass of ExtBot.
FinlitApplication = Application[Any, FinlitContext, dict[Any, Any], dict[Any, Any], BotData, Any]
