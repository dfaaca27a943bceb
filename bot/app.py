"""The one factory: build the Telegram application from settings."""

from __future__ import annotations

import datetime as dt
import logging

from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

from bot.core.admin import admin_desk
from bot.core.content import Content, load_content
from bot.core.tutor import Tutor
from bot.settings import Settings
from bot.store import Store
from bot.telegram.broadcast import start_worker, stop_worker
from bot.telegram.context import BotData, FinlitApplication, FinlitContext, Services
from bot.telegram.handlers import publish_commands, register
from bot.telegram.processing import DurableApplication, InboxBot
from bot.telegram.ratelimit import PacedRateLimiter

log = logging.getLogger(__name__)
TEST_TOKEN = "123456:offline-token"
# Updates handled at once. SQLite takes one writer at a time, so more would only wait.
CONCURRENT_UPDATES = 16
INBOX_MEMORY = dt.timedelta(days=3)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    content: Content | None = None,
    rate_limiter: PacedRateLimiter | None = None,
) -> FinlitApplication:
    """Everything wired; content is loaded (and checked) here, the store opens in post_init.

    Raises ``ContentError`` on invalid content, so a bad edit never reaches residents.
    """
    content = content if content is not None else load_content(settings.content_dir)
    token = settings.telegram_bot_token
    bot = InboxBot(
        token.get_secret_value() if token else TEST_TOKEN,
        base_url=settings.telegram_api_base_url or "https://api.telegram.org/bot",
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=request or HTTPXRequest(),
        # Paces sends (30/s overall, 1/s per chat, 20/min per group) and retries 429s, 5xx and
        # network errors a bounded number of times.
        rate_limiter=rate_limiter or production_limiter(),
    )
    application: FinlitApplication = (
        Application.builder()
        .application_class(DurableApplication)
        .bot(bot)
        .context_types(ContextTypes(context=FinlitContext, bot_data=BotData))
        # Different residents' updates run side by side; one resident's never do (the
        # application holds a lock per resident), so a double press cannot race.
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(open_services)
        .post_shutdown(close_services)
        .build()
    )
    application.bot_data.settings = settings
    application.bot_data.content = content
    register(application)
    return application


def production_limiter() -> PacedRateLimiter:
    """Telegram's limits with a 5% margin: a send is timed when it leaves the queue, and the
    network can bunch a second's sends together (30 in exactly 1.0 s drew 429s in
    bench/broadcast.py); 30 per 1.05 s still delivers about 28.6 messages a second."""
    return PacedRateLimiter(overall_time_period=1.05, chat_time_period=1.05)


async def open_services(application: FinlitApplication) -> None:
    """Open the database (migrating it to the latest schema) and publish the command menu."""
    bot_data = application.bot_data
    settings, content = bot_data.settings, bot_data.content
    if settings is None or content is None:
        raise RuntimeError("build the application with build_application()")
    store = await Store.open(settings.database_url)
    tutor = Tutor(
        content,
        store,
        default_language=settings.default_language,
        admin=admin_desk(settings, content, store, username=application.bot.username),
    )
    bot_data.services = Services(settings=settings, content=content, store=store, tutor=tutor)
    await publish_commands(application)
    if isinstance(application.bot, InboxBot):
        application.bot.attach(store)
    # Telegram redelivers for at most a day: older handled ids need not be remembered.
    await store.inbox_purge(older_than=INBOX_MEMORY)
    if isinstance(application, DurableApplication):
        replayed = await application.replay_unfinished(store)
        if replayed:
            log.info("finished %d update(s) interrupted by the last stop", replayed)
    # Administrators' broadcasts: resumes any job a stop interrupted, then polls for new ones.
    await start_worker(application)
    log.info("finlit ready: %d topics", len(content.curriculum.topics))


async def close_services(application: FinlitApplication) -> None:
    services = application.bot_data.services
    if services is not None:
        await stop_worker(application)  # normally already stopped in post_stop
        await services.store.close()
        application.bot_data.services = None
