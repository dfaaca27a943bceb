"""The one factory: build the Telegram application from settings."""

from __future__ import annotations

import datetime as dt
import logging

from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

from bot.assembly import admin_desk
from bot.core.ask.ready import AskerLoader
from bot.core.ask.search import build_asker
from bot.core.checks import load_content
from bot.core.content import Content
from bot.core.conversation.tutor import Tutor
from bot.housekeeping import Housekeeping
from bot.settings import Settings
from bot.store import Store
from bot.telegram.context import BotData, FinlitApplication, FinlitContext, Services
from bot.telegram.delivery import DeliveryEngine
from bot.telegram.handlers import publish_commands, register
from bot.telegram.pacing import Pacing
from bot.telegram.processing import DurableApplication, InboxBot
from bot.telegram.replica import ReplicaDuties
from bot.telegram.sharing import SharedSending

log = logging.getLogger(__name__)
TEST_TOKEN = "123456:offline-token"
# python-telegram-bot's own slots only put an update in its resident's queue (processing.py),
# which takes microseconds; the handling slots are dispatch.SLOTS.
CONCURRENT_UPDATES = 64
# How long a stop may spend finishing queued updates and sending queued replies; what is left
# stays in the inbox and the outbox for the next start (systemd waits 30 s: deploy/).
STOP_HANDLING_SECONDS = 10.0
STOP_SENDING_SECONDS = 8.0


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    content: Content | None = None,
    pacing: Pacing | None = None,
    asker: AskerLoader | None = None,
) -> FinlitApplication:
    """Everything wired; content is loaded (and checked) here, the store opens in post_init.

    ``pacing``: Telegram's limits and the clock the delivery engine keeps them by (tests and
    benchmarks pass their own). ``asker``: the search for typed questions, built in the
    background from post_init unless given. Raises ``ContentError`` on invalid content, so a
    bad edit never reaches residents.
    """
    content = content if content is not None else load_content(settings.content_dir)
    quiet_unreadable_answers()
    token = settings.telegram_bot_token
    bot = InboxBot(
        token.get_secret_value() if token else TEST_TOKEN,
        base_url=settings.telegram_api_base_url or "https://api.telegram.org/bot",
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=request or HTTPXRequest(),
        # No rate limiter: the delivery engine paces and retries every message (delivery.py);
        # what else the bot calls (answering presses, the command menu) is not paced.
    )
    application: FinlitApplication = (
        Application.builder()
        .application_class(DurableApplication)
        .bot(bot)
        .context_types(ContextTypes(context=FinlitContext, bot_data=BotData))
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(open_services)
        .post_stop(stop_services)
        .post_shutdown(close_services)
        .build()
    )
    application.bot_data.settings = settings
    application.bot_data.content = content
    application.bot_data.pacing = pacing or Pacing()
    application.bot_data.asker = asker or AskerLoader(lambda: build_asker(content))
    register(application)
    return application


class _UnreadableAnswer(logging.Filter):
    """python-telegram-bot logs an answer it cannot parse (a proxy's HTML error page) whole, with
    a traceback, before raising; delivery already logs that failure as one WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


def quiet_unreadable_answers() -> None:
    logger = logging.getLogger("telegram.request.BaseRequest")
    if not any(isinstance(f, _UnreadableAnswer) for f in logger.filters):
        logger.addFilter(_UnreadableAnswer())


async def open_services(application: FinlitApplication) -> None:
    """Open the database (migrating it to the latest schema), start handling and delivery, and
    publish the command menu."""
    bot_data = application.bot_data
    settings, content = bot_data.settings, bot_data.content
    if settings is None or content is None or bot_data.asker is None:
        raise RuntimeError("build the application with build_application()")
    # The search's index builds on a thread meanwhile: the bot answers everything else at once,
    # and a typed question that comes before it is ready waits for it (bot.core.ask.ready).
    bot_data.asker.start()
    store = await Store.open(settings.database_url)
    tutor = Tutor(
        content,
        store,
        default_language=settings.default_language,
        admin=admin_desk(settings, content, store, username=application.bot.username),
        asker=bot_data.asker,
    )
    pacing = bot_data.pacing
    shared = None
    if store.shared:
        # Other processes may share this database: Telegram's limits and each chat's claim are
        # kept in it, and this replica registers before it claims anything (replica.py).
        store.replicas.lease = dt.timedelta(seconds=settings.replica_lease_seconds)
        shared = SharedSending(store.replicas, pacing.limits, pacing.clock)
        if isinstance(application, DurableApplication):
            bot_data.replica = ReplicaDuties(
                store, adopt=application.adopt, broadcasts=lambda: bot_data.broadcasts
            )
            await bot_data.replica.start()
    delivery = DeliveryEngine(
        application.bot,
        store,
        limits=pacing.limits,
        clock=pacing.clock,
        sleep=pacing.sleep,
        metrics_file=settings.metrics_file,
        shared=shared,
    )
    bot_data.services = Services(
        settings=settings, content=content, store=store, tutor=tutor, delivery=delivery
    )
    if isinstance(application.bot, InboxBot):
        application.bot.attach(store)
    # Retention: old inbox ids, never-consenting residents, old broadcasts and audit lines.
    bot_data.housekeeping = Housekeeping(store, settings)
    bot_data.housekeeping.start()
    # Sends what a stop left in the outbox, then whatever handling queues.
    await delivery.start()
    if isinstance(application, DurableApplication):
        application.open_queues()
        replayed = await application.replay_unfinished(store)
        if replayed:
            log.info("finishing %d update(s) interrupted by the last stop", replayed)
    await publish_commands(application)
    # Administrators' broadcasts: resumes any job a stop interrupted, then polls for new ones.
    await bot_data.start_broadcasts(application.bot)
    log.info("finlit ready: %d topics", len(content.curriculum.topics))


async def stop_services(application: FinlitApplication) -> None:
    """Before the bot is shut down (it can still send): stop broadcasting, finish the updates
    already accepted, then send what they queued (bounded; the rest waits for the next start)."""
    await application.bot_data.stop_broadcasts()
    housekeeping, application.bot_data.housekeeping = application.bot_data.housekeeping, None
    if housekeeping is not None:
        await housekeeping.stop()
    if isinstance(application, DurableApplication) and application.queues is not None:
        await application.queues.stop(STOP_HANDLING_SECONDS)
    services = application.bot_data.services
    if services is not None:
        await services.delivery.stop(STOP_SENDING_SECONDS)
    replica, application.bot_data.replica = application.bot_data.replica, None
    if replica is not None:
        await replica.stop()  # lets go of its chats: the other replicas take over at once


async def close_services(application: FinlitApplication) -> None:
    services = application.bot_data.services
    if services is not None:
        await stop_services(application)  # normally already done in post_stop
        await services.store.close()
        application.bot_data.services = None
