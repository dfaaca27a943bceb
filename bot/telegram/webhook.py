"""Webhook mode: a small Starlette app served by uvicorn, next to the PTB Application.

Telegram POSTs each update to the webhook path with the secret token in a header. A request
without the right secret is refused (403) before its body is read, so it changes nothing. An
accepted update is written to the durable inbox *before* the 200: once Telegram hears 2xx it
never sends the update again, so from then on the database is what remembers it. Updates the
inbox has already seen handled (a redelivery) are acknowledged and not handled again.

The same server answers ``GET /healthz`` and ``GET /metrics``. The shape follows
python-telegram-bot's ``examples/customwebhookbot/starlettebot.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.settings import DEFAULT_WEBHOOK_PATH, Settings, valid_webhook_secret
from bot.telegram.context import FinlitApplication, Services
from bot.telegram.guards import private_chat_matches_sender, resident_key
from bot.telegram.metrics import METRICS, QueueDepth

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Where finlit 0.x kept a generated secret (in plain text, in the database): removed at start.
SECRET_STATE_KEY = "webhook_secret"
# A generated secret: 43 characters of Telegram's alphabet (256 random bits).
SECRET_BYTES = 32
# How an operator makes one (said when a secret is missing or malformed).
MAKE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
# At most one log line per this many seconds about refused requests, however many arrive.
REFUSAL_LOG_SECONDS = 60.0
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
# The text format /metrics has always served (prometheus_client's CONTENT_TYPE_PLAIN_0_0_4).
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Telegram's updates are a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 1 << 20
# How long /healthz waits for the database before calling it unreachable.
PING_TIMEOUT_SECONDS = 5.0
# How long uvicorn lets requests in flight finish on shutdown before cancelling them; a
# cancelled request was never acknowledged, so Telegram delivers it again later. A request only
# writes its update to the inbox, so this is short: the whole stop must fit in the 30 s systemd
# and Docker give it (tests/security/test_shutdown.py adds the budgets up).
GRACEFUL_SECONDS = 2


class ListenError(RuntimeError):
    """The webhook server could not listen on LISTEN_HOST:PORT."""


class SecretFileError(RuntimeError):
    """WEBHOOK_SECRET_FILE cannot be read, written, or holds no valid secret."""


class RefusalLog:
    """Refused requests logged at most once per period, with how many were not logged.

    Anyone on the internet can post to the webhook; a log line per request would let them fill
    the disk and bury everything else in the journal. The metric still counts every one.
    """

    def __init__(
        self, *, period: float = REFUSAL_LOG_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._period, self._clock = period, clock
        self._next = float("-inf")
        self._quiet = 0

    def refused(self, client: str, what: str) -> None:
        now = self._clock()
        if now < self._next:
            self._quiet += 1
            return
        self._next = now + self._period
        quiet, self._quiet = self._quiet, 0
        log.warning(
            "webhook request from %s refused: %s secret token (%d more refused since the last "
            "line; at most one line per %.0f s)",
            client,
            what,
            quiet,
            self._period,
        )


def webhook_path(url: str) -> str:
    """The local path Telegram POSTs to: the path of WEBHOOK_URL."""
    return urlsplit(url).path or DEFAULT_WEBHOOK_PATH


def build_web_app(
    application: FinlitApplication,
    *,
    secret: str,
    path: str = DEFAULT_WEBHOOK_PATH,
    refusals: RefusalLog | None = None,
) -> Starlette:
    """The ASGI app: the webhook at ``path``, ``/healthz`` and ``/metrics``."""
    expected = secret.encode()
    refusal_log = refusals if refusals is not None else RefusalLog()
    # This application's own registry: the process's figures and its update queue's depth.
    registry = METRICS.registry_for(QueueDepth(application.update_queue.qsize))

    def services() -> Services | None:
        return application.bot_data.services

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode(), expected):
            METRICS.inc("finlit_webhook_rejected_total")
            client = request.client.host if request.client else "?"
            refusal_log.refused(client, "missing" if given is None else "wrong")
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response(status_code=413)
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(payload, application.bot)
        except Exception:  # anything unparseable is not an update: say so, store nothing
            log.warning("webhook request refused: the body is not a Telegram update")
            return Response(status_code=400)
        if not private_chat_matches_sender(payload):
            # Telegram never sends this; acknowledged (so nothing retries it) and dropped.
            METRICS.inc("finlit_webhook_forged_total")
            log.warning("update %s dropped: private chat is not its sender's", update.update_id)
            return Response(status_code=200)
        opened = services()
        if opened is None:
            return Response(status_code=503)  # Telegram retries later
        try:
            fresh = await opened.store.inbox.accept([payload], residents=[resident_key(update)])
        except Exception:
            log.exception("could not store update %s; Telegram will retry", update.update_id)
            return Response(status_code=503)
        if fresh:
            await application.update_queue.put(update)
        else:
            log.debug("update %s was already handled; acknowledged again", update.update_id)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        opened = services()
        if opened is None or not application.running:
            return JSONResponse({"status": "starting or stopping"}, status_code=503)
        if not opened.content.curriculum.topics:
            return JSONResponse({"status": "no content"}, status_code=503)
        try:
            await asyncio.wait_for(opened.store.ping(), PING_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("health check: database unreachable (%s)", type(exc).__name__)
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(METRICS.render(registry), media_type=METRICS_CONTENT_TYPE)

    return Starlette(
        routes=[
            Route(path, telegram, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


async def resolve_secret(application: FinlitApplication, settings: Settings) -> str:
    """The webhook secret (``configured_secret``); a secret an older finlit kept in the
    database is deleted.

    Never the database: a copy of the database file (a backup, a leak) must not let anyone
    post updates as Telegram.
    """
    services = application.bot_data.services
    if services is None:
        raise RuntimeError("services are opened in post_init; call it first")
    await services.store.state.purge(key=SECRET_STATE_KEY)
    return await asyncio.to_thread(configured_secret, settings)


def configured_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, else the one in WEBHOOK_SECRET_FILE; on SQLite, else a new one kept there.

    On PostgreSQL several replicas may share the database and the webhook: each generating its
    own would leave all but the last registered refusing Telegram's updates, so the operator must
    give every one the same secret (SecretFileError otherwise, said in one line).
    """
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    if not settings.shared_database:
        return secret_from_file(settings.secret_file)
    path = settings.webhook_secret_file
    if path is None:
        raise SecretFileError(
            "WEBHOOK_SECRET: required in webhook mode with PostgreSQL, the same for every "
            "replica: set WEBHOOK_SECRET, or WEBHOOK_SECRET_FILE to a file that holds it "
            f"(make one with: {MAKE_SECRET})"
        )
    try:
        return _read_secret(path)
    except FileNotFoundError:
        raise SecretFileError(
            f"WEBHOOK_SECRET_FILE: {path} does not exist; with PostgreSQL it is not generated: "
            f"write the secret every replica uses into it (make one with: {MAKE_SECRET})"
        ) from None


def secret_from_file(path: Path) -> str:
    """The secret kept in ``path``; generated, written (mode 600) and printed once if absent.

    Only for a single process (SQLite): replicas would each generate their own, and only the
    last one registered would be accepted.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(SECRET_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: if another process wrote one meanwhile, keep theirs.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    except OSError as exc:
        raise SecretFileError(
            f"WEBHOOK_SECRET_FILE: cannot write {path}: {exc.strerror or exc}"
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secret + "\n")
    # Printed once, for an operator who later moves to several replicas (WEBHOOK_SECRET).
    print(f"finlit: generated a webhook secret, kept in {path} (mode 600): {secret}", flush=True)
    return secret


def _read_secret(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretFileError(f"WEBHOOK_SECRET_FILE: cannot read {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        try:
            path.chmod(0o600)
            log.warning("%s was readable by others; now mode 600", path)
        except OSError:  # the operator's file on a read-only mount (a Compose secret)
            log.warning("%s is readable by others; make it mode 600", path)
    if not valid_webhook_secret(secret):
        raise SecretFileError(
            f"WEBHOOK_SECRET_FILE: {path} holds no webhook secret (it must be one line of 32-256 "
            f"characters of A-Z, a-z, 0-9, _ and -; make one with: {MAKE_SECRET})"
        )
    return secret


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling.

    uvicorn re-raises a captured SIGTERM once ``serve()`` returns, which would kill the process
    before the Application has finished its handlers; ``serve_webhook`` handles signals itself.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event, server: uvicorn.Server) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop``; a second SIGINT makes uvicorn drop requests in flight."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        log.info("%s: stopping", signum.name)
        if stop.is_set() and signum == signal.SIGINT:
            server.force_exit = True
        stop.set()

    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (or not POSIX): the caller stops us through ``stop``
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def serve_webhook(
    application: FinlitApplication, settings: Settings, *, stop: asyncio.Event | None = None
) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully.

    Start: open the services (post_init), start the Application, listen, and only then
    register the webhook, so Telegram's first POST finds us ready. Stop: uvicorn stops
    accepting connections and lets requests in flight finish (each has stored its update in
    the inbox and queued it, or was not acknowledged); the Application then handles everything
    queued and waits for its handlers; post_stop and post_shutdown run (the latter closes the
    database). The webhook stays registered, so a replacement process keeps receiving.
    """
    if settings.webhook_url is None:
        raise ValueError("serve_webhook needs WEBHOOK_URL")
    stop = stop if stop is not None else asyncio.Event()
    url = settings.webhook_url
    async with application:  # initialize(); shutdown() on the way out
        try:
            if application.post_init is not None:
                await application.post_init(application)
            secret = await resolve_secret(application, settings)
            web_app = build_web_app(application, secret=secret, path=webhook_path(url))
            config = uvicorn.Config(
                web_app,
                log_config=None,  # keep finlit's logging (and its token filter)
                log_level="warning",
                access_log=False,
                lifespan="off",
                server_header=False,
                timeout_graceful_shutdown=GRACEFUL_SECONDS,
            )
            server = _Server(config)
            sock = _listen(settings.listen_host, settings.port)
            with sock, _stop_on_signals(stop, server):
                await application.start()
                try:
                    await _serve(application, server, sock, stop, url=url, secret=secret)
                finally:
                    await application.stop()  # handles what is queued, waits for handlers
                    if application.post_stop is not None:
                        await application.post_stop(application)
        finally:
            if application.post_shutdown is not None:
                await application.post_shutdown(application)


async def _serve(
    application: FinlitApplication,
    server: uvicorn.Server,
    sock: socket.socket,
    stop: asyncio.Event,
    *,
    url: str,
    secret: str,
) -> None:
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="finlit-webhook-server")
    stopping = asyncio.create_task(stop.wait(), name="finlit-webhook-stop")
    try:
        while not server.started:
            if serving.done() or stop.is_set():
                break
            await asyncio.sleep(0.02)
        if server.started and not stop.is_set():
            await application.bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
            host, port = sock.getsockname()[:2]
            log.info("webhook registered; listening on %s:%d", host, port)
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True  # stop accepting; requests in flight finish
        stopping.cancel()
        await asyncio.gather(serving, stopping, return_exceptions=True)
    if not serving.cancelled():
        serving.result()  # the server's own failure, if it had one
