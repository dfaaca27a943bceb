"""What sharing one PostgreSQL database between replicas costs, per statement.

A program, not a test. On a database of its own (created on the server of ``--database-url``,
dropped at the end) it times the statements replicas add:

* ``reserve``: a send's slot in the whole bot's budget (one statement per message sent), from
  one replica, and from two replicas at once (two stores, as two processes would);
* ``claim + release``: a chat taken and let go (once per burst of messages to a chat);
* ``take_turn``: a unit of work with the resident's advisory lock against one without;
* ``earlier``: the read of a resident's earlier pending updates (once per update handled).

    python bench/replicas.py [--database-url postgresql+asyncpg://postgres@127.0.0.1/postgres]
                             [--count 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.postgres import database_url, execute  # noqa: E402
from bot.store import Store  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def timed(count: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    """Seconds each of ``count`` calls took."""
    took = []
    for n in range(count):
        started = time.perf_counter()
        await call(n)
        took.append(time.perf_counter() - started)
    return took


def line(name: str, took: list[float]) -> str:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<34} median {statistics.median(took) * 1e6:7.0f} µs"
        f"   p99 {p99 * 1e6:7.0f} µs   ({len(took)} calls)"
    )


async def main(url: str, count: int, synchronous: bool) -> None:
    name = f"finlit_bench_replicas_{os.getpid()}"
    await execute(url, f'CREATE DATABASE "{name}"')
    if not synchronous:
        await execute(url, f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    target = database_url(url, name)
    try:
        a, b = await Store.open(target), await Store.open(target)
        try:
            await a.replicas.beat()
            await b.replicas.beat()
            gap = 1.05 / 30
            now = time.time()
            print(
                line(
                    "reserve, one replica",
                    await timed(count, lambda n: a.replicas.reserve(now=now, gap=gap)),
                )
            )

            async def both(store: Store) -> list[float]:
                return await timed(count, lambda n: store.replicas.reserve(now=now, gap=gap))

            started = time.perf_counter()
            first, second = await asyncio.gather(both(a), both(b))
            wall = time.perf_counter() - started
            print(line("reserve, two replicas at once", first + second))
            print(f"{'':<34} {2 * count / wall:7.0f} reservations a second together")

            async def cycle(n: int) -> None:
                pacing = await a.replicas.claim_chat(chat_id=n)
                assert pacing is not None
                await a.replicas.release_chat(chat_id=n, pacing=pacing, released_at=now)

            print(line("claim + release (a chat)", await timed(count, cycle)))

            async def plain(n: int) -> None:
                async with a.unit_of_work():
                    await a.inbox.finish(update_id=n)

            async def with_turn(n: int) -> None:
                async with a.unit_of_work():
                    await a.inbox.take_turn(resident_id=n % 50)
                    await a.inbox.finish(update_id=count + n)

            print(line("unit of work (done-mark)", await timed(count, plain)))
            print(line("the same with take_turn", await timed(count, with_turn)))
            await a.inbox.accept(
                [{"update_id": 10 * count + n} for n in range(200)],
                residents=[n % 50 for n in range(200)],
            )
            print(
                line(
                    "earlier (4 pending of 200)",
                    await timed(
                        count, lambda n: a.inbox.earlier(resident_id=n % 50, update_id=11 * count)
                    ),
                )
            )
        finally:
            await a.close()
            await b.close()
    finally:
        await execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("FINLIT_TEST_POSTGRES_URL", DEFAULT_URL)
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="the whole database with synchronous_commit=off (to see what the disk costs)",
    )
    options = parser.parse_args()
    asyncio.run(main(options.database_url, options.count, not options.async_commit))
