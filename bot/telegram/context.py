"""Typed services for handlers, instead of string keys into bot_data."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.ask.ready import AskerLoader
from bot.core.content import Content
from bot.housekeeping import Housekeeping
from bot.settings import Settings
from bot.telegram.broadcast import BroadcastWorker
from bot.telegram.pacing import Pacing
from bot.telegram.replica import ReplicaDuties
from bot.telegram.services import Services
from bot.telegram.turn import Turn

__all__ = ["BotData", "FinlitApplication", "FinlitContext", "Services"]


class BotData:
    """The application's bot_data: the services, once post_init has opened them, and the
    application's own running parts (nothing of an application is kept in module globals)."""

    def __init__(self) -> None:
        self.services: Services | None = None
        # Needed before the store is open (post_init), so kept apart from Services.
        self.settings: Settings | None = None
        self.content: Content | None = None
        # The search for typed questions (issue 17), built in the background from post_init.
        self.asker: AskerLoader | None = None
        # Administrators whose own command menu this process has set.
        self.admin_menus: set[int] = set()
        # Telegram's limits and the clock delivery keeps them by (build_application).
        self.pacing: Pacing = Pacing()
        # The hourly retention pass, while the application runs (bot/housekeeping.py).
        self.housekeeping: Housekeeping | None = None
        # The broadcast worker, while the application runs (broadcast.py).
        self.broadcasts: BroadcastWorker | None = None
        # Several processes on one PostgreSQL database: this one's duties (replica.py).
        self.replica: ReplicaDuties | None = None
        # The updates being handled, by id (processing.py): each handler's context carries its own.
        self.turns: dict[int, Turn] = {}

    async def start_broadcasts(self, bot: Bot) -> BroadcastWorker:
        """Start the broadcast worker (from post_init); ``stop_broadcasts`` runs in post_stop,
        while the bot can still send (python-telegram-bot's polling runner shuts the bot down
        before post_shutdown)."""
        if self.services is None:
            raise RuntimeError("open the services (post_init) before the broadcast worker")
        await self.stop_broadcasts()
        worker = BroadcastWorker(self.services, bot)
        await worker.start()
        self.broadcasts = worker
        return worker

    async def stop_broadcasts(self) -> None:
        """Stop the broadcast worker, if it runs; its deliveries in flight finish first."""
        worker, self.broadcasts = self.broadcasts, None
        if worker is not None:
            await worker.stop()


class FinlitContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    # The update's turn (turn.py), for handlers and the error handler; None outside handling.
    turn: Turn | None = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, FinlitContext, Any, Any, BotData, Any]
    ) -> FinlitContext:
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context.turn = application.bot_data.turns.get(update.update_id)
        return context

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are opened in post_init; the application is not running")
        return services


# The bot type is left open: production uses InboxBot, a subclass of ExtBot.
FinlitApplication = Application[Any, FinlitContext, dict[Any, Any], dict[Any, Any], BotData, Any]
