"""Two real ``finlit run --webhook`` processes on one PostgreSQL database, behind the fake Bot
API served over HTTP: a resident's updates land on both; one replica is killed with SIGKILL in
the middle; the other carries on and takes over what the dead one left."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.store import Store
from tests.backends import PostgresDatabases, _connect, require
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.builders import text_update, user_json
from tests.fakes.process import FinlitProcess, eventually
from tests.fakes.records import JSON
from tests.fakes.server import FakeTelegramServer

pytestmark = pytest.mark.postgres

SECRET = "replicas-share-one-secret-of-32-characters"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LEASE = 2.0
TEXT = "The clinic opens at nine"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def typed(fake: FakeTelegram, user_id: int, text: str) -> JSON:
    """A text message from resident ``user_id`` in their private chat."""
    chat = fake.add_chat(user_id, first_name="Lan")
    return text_update(fake, user_json(user_id, "Lan", language_code="en"), chat, text)


def replica(server: FakeTelegramServer, url: str, port: int, tmp_path: Path) -> FinlitProcess:
    return FinlitProcess(
        server,
        database_url=url,
        args=("run", "--webhook"),
        cwd=tmp_path,
        log=tmp_path / f"replica-{port}.log",
        env={
            "WEBHOOK_URL": "https://bot.example.org",
            "WEBHOOK_SECRET": SECRET,
            "PORT": str(port),
            "REPLICA_LEASE_SECONDS": str(LEASE),
            "LOG_LEVEL": "INFO",
        },
    )


async def rows(database: str, query: str) -> list[Any]:
    conn = await _connect(database)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def test_a_replica_killed_mid_lecture_loses_no_acknowledged_update(
    tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    require(postgres_databases)
    name, url = postgres_databases.new_empty()  # both start at once on an empty database
    fake = FakeTelegram()
    ports = [free_port(), free_port()]
    residents = [4001, 4002, 4003]
    acknowledged: list[int] = []
    try:
        async with FakeTelegramServer(fake) as server:
            a, b = (replica(server, url, port, tmp_path) for port in ports)
            async with a, b:
                await eventually(lambda: len(fake.calls_of("setWebhook")) == 2, seconds=60)
                clients = [
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False)
                    for port in ports
                ]

                async def post(replica_index: int, user_id: int, text: str) -> None:
                    update = typed(fake, user_id, text)
                    response = await clients[replica_index].post(
                        "/telegram", json=update, headers={SECRET_HEADER: SECRET}
                    )
                    if response.status_code == 200:
                        acknowledged.append(update["update_id"])

                try:
                    for user_id in residents:
                        await post(0, user_id, "/start")
                    # A lecture: everyone's updates alternate between the two replicas.
                    for round_ in range(4):
                        for n, user_id in enumerate(residents):
                            await post((round_ + n) % 2, user_id, "/help")
                    # a holds the first resident's chat with a reply queued (Telegram said
                    # 429, retry in 5 s) and more updates acknowledged, when it is killed.
                    held = residents[0]
                    fake.fail_next("sendMessage", retry_after=5, chat_id=held)
                    for user_id in residents:
                        await post(0, user_id, "/help")

                    def refused() -> bool:
                        return any(
                            c.error and c.params.get("chat_id") == held
                            for c in fake.calls_of("sendMessage")
                        )

                    await eventually(refused, seconds=30)
                    await post(0, held, "/help")
                    await a.kill()
                    for user_id in residents:  # b carries on, with each one's next update
                        await post(1, user_id, "/help")
                    await post(1, residents[0], "/help")
                finally:
                    for client in clients:
                        await client.aclose()

                async def settled() -> bool:
                    pending = await rows(name, "select update_id from inbox where done_at is null")
                    queued = await rows(name, "select id from outbox")
                    return not pending and not queued

                deadline = asyncio.get_running_loop().time() + 60
                while not await settled():
                    assert asyncio.get_running_loop().time() < deadline, "b did not take over"
                    await asyncio.sleep(0.2)
                done = await rows(name, "select update_id from inbox where done_at is not null")
                status, log = await b.stop()
                claims = await rows(
                    name, f"select replica from outbox_claims where chat_id = {residents[0]}"
                )
        assert status == 0, log
    finally:
        postgres_databases.drop(name)
    # Every acknowledged update was handled (by a, or by b after a died), each exactly once:
    # its done-mark commits with its effects.
    assert sorted(acknowledged) == sorted(r["update_id"] for r in done)
    assert len(acknowledged) >= len(residents) * 7
    for user_id in residents:
        # Replies at least once: one (or more, after the kill) for each of their updates.
        assert len(fake.sent_texts(user_id)) >= 6
    # The dead replica's claim on the held chat was taken over by b (which let go at its stop):
    # b sent what was queued for it.
    assert [claim["replica"] for claim in claims] == [None]
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]


async def test_a_broadcast_split_between_replicas_survives_a_kill_at_most_once_each(
    tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    require(postgres_databases)
    name, url = postgres_databases.new()
    fake = FakeTelegram()
    ids = range(8000, 8150)  # about five seconds of sending at Telegram's pace
    try:
        store = await Store.open(url)
        try:
            for resident_id in ids:
                fake.add_chat(resident_id, chat_type="private", first_name="R")
                await store.residents.ensure(resident_id=resident_id, language="en")
                await store.residents.give_consent(resident_id=resident_id)
            async with FakeTelegramServer(fake) as server:
                a, b = (replica(server, url, free_port(), tmp_path) for _ in range(2))
                async with a, b:
                    await eventually(lambda: len(fake.calls_of("setWebhook")) == 2, seconds=60)
                    draft = await store.broadcasts.create(admin_id=900, cohort_id=None, text=TEXT)
                    assert await store.broadcasts.start(broadcast_id=draft.id) is not None

                    def announced() -> int:
                        return sum(TEXT in t for r in ids for t in fake.sent_texts(r))

                    await eventually(lambda: announced() >= 30, seconds=60)
                    await a.kill()  # in the middle, with deliveries claimed and in flight

                    async def finished() -> bool:
                        got = await store.broadcasts.get(broadcast_id=draft.id)
                        return got is not None and got.status == "done"

                    deadline = asyncio.get_running_loop().time() + 90
                    while not await finished():
                        assert asyncio.get_running_loop().time() < deadline, "not finished"
                        await asyncio.sleep(0.2)
                    status = await store.broadcasts.delivery_status(broadcast_id=draft.id)
                    final = await store.broadcasts.get(broadcast_id=draft.id)
                    code, log = await b.stop()
        finally:
            await store.close()
        assert code == 0, log
    finally:
        postgres_databases.release(name)
    received = {r: sum(TEXT in t for t in fake.sent_texts(r)) for r in ids}
    assert max(received.values()) == 1  # at most once each, across both replicas and the kill
    assert set(status.values()) <= {"sent", "unknown"}
    assert final is not None and final.sent + final.failed == len(ids)
    # Whatever was sent was recorded as sent, except claims the kill interrupted ("unknown").
    unknown = [r for r, s in status.items() if s == "unknown"]
    assert all(received[r] == 1 for r, s in status.items() if s == "sent")
    assert len(unknown) <= 16  # at most what a replica has in flight (its concurrency, twice)
