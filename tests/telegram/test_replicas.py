"""Two replicas on one PostgreSQL database behind one fake Bot API: each has its own
Application, engine and store, as two ``finlit run --webhook`` processes would, and updates
arrive as the webhook takes them (written to the inbox, then queued).

A resident's updates take effect in order and once, whichever replica took them; a broadcast
split between the replicas reaches each resident once; the two together keep Telegram's limits.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application
from bot.core.content import Content
from bot.settings import Settings
from bot.store import Store
from bot.telegram.context import FinlitApplication, FinlitContext
from bot.telegram.guards import resident_key
from bot.telegram.pacing import Limits, Pacing
from bot.telegram.processing import DurableApplication
from tests.backends import PostgresDatabases, require
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.limits import LimitedTelegram, TelegramLimits
from tests.fakes.resident import TelegramUser

pytestmark = pytest.mark.postgres

TEXT = "Hello <b>all</b>"


class Replica:
    """One process's Application on the shared database (real clock; limits as given)."""

    def __init__(self, fake: FakeTelegram, settings: Settings, content: Content) -> None:
        self.fake, self.settings, self.content = fake, settings, content
        self.errors: list[BaseException] = []
        self._app: FinlitApplication | None = None

    async def start(self, limits: Limits | None = None) -> Replica:
        app = build_application(
            self.settings,
            request=self.fake,
            content=self.content,
            pacing=Pacing(limits=limits or Limits.unlimited()),
        )

        async def collect(update: object, context: FinlitContext) -> None:
            if context.error is not None:
                self.errors.append(context.error)

        app.add_error_handler(collect)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        self._app = app
        return self

    async def stop(self) -> None:
        if self._app is not None:
            assert self._app.post_shutdown is not None
            await self._app.post_shutdown(self._app)
            await self._app.shutdown()
            self._app = None

    @property
    def app(self) -> DurableApplication:
        assert isinstance(self._app, DurableApplication)
        return self._app

    @property
    def store(self) -> Store:
        assert self.app.bot_data.services is not None
        return self.app.bot_data.services.store

    async def arrive(self, update: dict[str, Any], *, queue: bool = True) -> bool:
        """As the webhook takes an update: into the inbox, then (``queue``) into the resident's
        queue. False when it had been handled before (acknowledged, nothing queued)."""
        parsed = Update.de_json(copy.deepcopy(update), self.app.bot)
        fresh = await self.store.inbox.accept([update], residents=[resident_key(parsed)])
        if fresh and queue:
            await self.app.process_update(parsed)
        return bool(fresh)

    async def settled(self) -> None:
        await self.app.settled()


@pytest.fixture
def shared_settings(postgres_databases: PostgresDatabases) -> Iterator[Settings]:
    """Both replicas' settings: one fresh PostgreSQL database."""
    require(postgres_databases)
    name, url = postgres_databases.new()
    try:
        yield Settings(
            _env_file=None,
            telegram_bot_token="123456:test-token",
            database_url=url,
            default_language="zh",
            admin_ids=frozenset({900}),
        )
    finally:
        postgres_databases.release(name)


@pytest.fixture
async def pair(
    fake: FakeTelegram, shared_settings: Settings, content: Content
) -> AsyncIterator[tuple[Replica, Replica]]:
    a, b = Replica(fake, shared_settings, content), Replica(fake, shared_settings, content)
    await a.start()
    await b.start()
    yield a, b
    await a.stop()
    await b.stop()
    assert a.errors == [] and b.errors == []
    assert fake.unknown_methods == []


def record_handled(monkeypatch: pytest.MonkeyPatch, *replicas: Replica) -> list[int]:
    """The update ids whose done-mark (committed with their effects) each replica wrote, in
    the order the units of work took them."""
    handled: list[int] = []
    for replica in replicas:
        inbox = replica.store.inbox
        finish = inbox.finish

        async def counted(*, update_id: int, _finish: Any = finish) -> bool:
            fresh = bool(await _finish(update_id=update_id))
            if fresh:
                handled.append(update_id)
            return fresh

        monkeypatch.setattr(inbox, "finish", counted)
    return handled


async def both_settled(*replicas: Replica) -> None:
    for _ in range(3):  # one replica's work can wake the other's (a chat it holds)
        await asyncio.gather(*(r.settled() for r in replicas))


async def test_a_residents_update_waiting_on_another_replica_is_handled_first(
    pair: tuple[Replica, Replica], fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    handled = record_handled(monkeypatch, a, b)
    user = TelegramUser(fake, a.app, user_id=1001, language_code="en")
    first, second = user.text_update("/start"), user.text_update("/help")
    # a took the first update (acknowledged to Telegram) but has not handled it yet; the second
    # lands on b, which handles the first before it.
    assert await a.arrive(first, queue=False)
    assert await b.arrive(second)
    await both_settled(b)
    assert handled == [first["update_id"], second["update_id"]]
    # a's turn comes: the update is done, so it has no second effect.
    await a.app.process_update(Update.de_json(copy.deepcopy(first), a.app.bot))
    await both_settled(a, b)
    assert handled == [first["update_id"], second["update_id"]]


async def test_interleaved_updates_of_one_resident_take_effect_in_order_and_once(
    pair: tuple[Replica, Replica], fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    handled = record_handled(monkeypatch, a, b)
    users = [TelegramUser(fake, a.app, user_id=2000 + n, language_code="en") for n in range(3)]
    updates: list[tuple[Replica, dict[str, Any]]] = []
    for round_ in range(6):
        for n, user in enumerate(users):
            text = "/start" if round_ == 0 else ["/help", "/progress", "hello"][round_ % 3]
            updates.append(((a, b)[(round_ + n) % 2], user.text_update(text)))
    # All accepted first (the webhook answers at once), then handled by both at the same time.
    for replica, update in updates:
        assert await replica.arrive(update, queue=False)
    await asyncio.gather(
        *(
            replica.app.process_update(Update.de_json(copy.deepcopy(update), replica.app.bot))
            for replica, update in updates
        )
    )
    await both_settled(a, b)
    for user in users:
        theirs = [u["update_id"] for _, u in updates if u["message"]["from"]["id"] == user.chat_id]
        assert [h for h in handled if h in theirs] == theirs  # in order, each once
    assert sorted(handled) == sorted(u["update_id"] for _, u in updates)


async def test_a_replayed_update_has_one_effect_whichever_replica_gets_it(
    pair: tuple[Replica, Replica], fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    handled = record_handled(monkeypatch, a, b)
    user = TelegramUser(fake, a.app, user_id=3001, language_code="en")
    start = user.text_update("/start")
    # Redelivered to the other replica while the first is handling it.
    assert await a.arrive(start, queue=False)
    assert await b.arrive(start, queue=False)
    parsed = [Update.de_json(copy.deepcopy(start), r.app.bot) for r in (a, b)]
    await asyncio.gather(a.app.process_update(parsed[0]), b.app.process_update(parsed[1]))
    await both_settled(a, b)
    assert handled == [start["update_id"]]
    replies = len(fake.sent_texts(user.chat_id))
    assert replies >= 1
    # Once handled, a redelivery is acknowledged and not queued anywhere.
    assert not await b.arrive(start)
    assert not await a.arrive(start)
    await both_settled(a, b)
    assert handled == [start["update_id"]]
    assert len(fake.sent_texts(user.chat_id)) == replies


async def residents_for_broadcast(replica: Replica, fake: FakeTelegram, ids: range) -> None:
    for resident_id in ids:
        fake.add_chat(resident_id, chat_type="private", first_name=f"R{resident_id}")
        await replica.store.residents.ensure(resident_id=resident_id, language="en")
        await replica.store.residents.give_consent(resident_id=resident_id)


async def split_broadcast(a: Replica, b: Replica, fake: FakeTelegram, ids: range) -> int:
    """A confirmed broadcast to ``ids``, sent by both replicas' workers at once."""
    await residents_for_broadcast(a, fake, ids)
    draft = await a.store.broadcasts.create(admin_id=900, cohort_id=None, text=TEXT)
    assert await a.store.broadcasts.start(broadcast_id=draft.id) is not None
    workers = [r.app.bot_data.broadcasts for r in (a, b)]
    drains: list[Callable[[], Awaitable[int]]] = [w.drain for w in workers if w is not None]
    assert len(drains) == 2
    counts = await asyncio.gather(*(drain() for drain in drains))
    await both_settled(a, b)
    assert all(count > 0 for count in counts), f"one replica sent nothing: {counts}"
    return draft.id


async def test_a_broadcast_split_between_replicas_reaches_each_resident_exactly_once(
    pair: tuple[Replica, Replica], fake: FakeTelegram, content: Content
) -> None:
    a, b = pair
    ids = range(5000, 5120)
    broadcast_id = await split_broadcast(a, b, fake, ids)
    html = content.render("broadcast.html.j2", "en", text=TEXT)
    assert {r: fake.sent_texts(r).count(html) for r in ids} == {r: 1 for r in ids}
    status = await a.store.broadcasts.delivery_status(broadcast_id=broadcast_id)
    assert set(status.values()) == {"sent"}
    final = await b.store.broadcasts.get(broadcast_id=broadcast_id)
    assert final is not None and (final.status, final.sent) == ("done", len(ids))


async def test_two_replicas_together_keep_telegrams_limits(
    shared_settings: Settings, content: Content
) -> None:
    fake = LimitedTelegram(limits=TelegramLimits.telegram())
    a, b = Replica(fake, shared_settings, content), Replica(fake, shared_settings, content)
    await a.start(Limits.telegram())
    await b.start(Limits.telegram())
    try:
        ids = range(6000, 6090)  # three seconds of sending at 30 a second
        # Residents write to both replicas meanwhile: their replies share the same budget.
        users = [TelegramUser(fake, a.app, user_id=7000 + n, language_code="en") for n in range(6)]
        chatter = [(a, b)[n % 2].arrive(user.text_update("/start")) for n, user in enumerate(users)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(split_broadcast(a, b, fake, ids), *chatter)
        await both_settled(a, b)
        elapsed = loop.time() - started
    finally:
        await a.stop()
        await b.stop()
    assert a.errors == [] and b.errors == []
    assert fake.too_many == []  # not one 429
    sent = fake.limits.accepted
    assert sent >= len(ids) + len(users)
    # 30 per 1.05 s for the whole bot, not for each replica.
    assert sent / elapsed <= 30.0
