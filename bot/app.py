"""The one factory: build the Telegram application from settings."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest

from bot.core.admin import admin_desk
from bot.core.content import Content, load_content
from bot.core.tutor import Tutor
from bot.settings import Settings
from bot.store import Store
from bot.telegram.context import BotData, FinlitApplication, FinlitContext, Services
from bot.telegram.handlers import publish_commands, register

log = logging.getLogger(__name__)
TEST_TOKEN = "123456:offline-token"


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    content: Content | None = None,
) -> FinlitApplication:
    """Everything wired; content is loaded (and checked) here, the store opens in post_init.

    Raises ``ContentError`` on invalid content, so a bad edit never reaches residents.
    """
    content = content if content is not None else load_content(settings.content_dir)
    token = settings.telegram_bot_token
    builder = (
        Application.builder()
        .token(token.get_secret_value() if token else TEST_TOKEN)
        .context_types(ContextTypes(context=FinlitContext, bot_data=BotData))
        .post_init(open_services)
        .post_shutdown(close_services)
    )
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application: FinlitApplication = builder.build()
    application.bot_data.settings = settings
    application.bot_data.content = content
    register(application)
    return application


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
    log.info("finlit ready: %d topics", len(content.curriculum.topics))


async def close_services(application: FinlitApplication) -> None:
    services = application.bot_data.services
    if services is not None:
        await services.store.close()
        application.bot_data.services = None
