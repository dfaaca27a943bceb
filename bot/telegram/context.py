"""Typed services for handlers, instead of string keys into bot_data."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.content import Content
from bot.core.conversation.tutor import Tutor
from bot.settings import Settings
from bot.store import Store
from bot.telegram.delivery import DeliveryEngine
from bot.telegram.pacing import Pacing

if TYPE_CHECKING:
    from bot.housekeeping import Housekeeping
    from bot.telegram.broadcast import BroadcastWorker


@dataclasses.dataclass
class Services:
    settings: Settings
    content: Content
    store: Store
    tutor: Tutor
    delivery: DeliveryEngine


class BotData:
    """The application's bot_data: the services, once post_init has opened them."""

    def __init__(self) -> None:
        self.services: Services | None = None
        # Needed before the store is open (post_init), so kept apart from Services.
        self.settings: Settings | None = None
        self.content: Content | None = None
        # Administrators whose own command menu this process has set.
        self.admin_menus: set[int] = set()
        # Telegram's limits and the clock delivery keeps them by (build_application).
        self.pacing: Pacing = Pacing()
        # The hourly retention pass, while the application runs (bot/housekeeping.py).
        self.housekeeping: Housekeeping | None = None
        # The broadcast worker, while the application runs (broadcast.py).
        self.broadcasts: BroadcastWorker | None = None


class FinlitContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are opened in post_init; the application is not running")
        return services


# The bot type is left open: production uses InboxBot, a subclass of ExtBot.
FinlitApplication = Application[Any, FinlitContext, dict[Any, Any], dict[Any, Any], BotData, Any]
