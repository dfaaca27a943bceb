"""Several bot processes (replicas) on one database: who is alive, who sends to which chat, and
Telegram's limit for the whole bot, kept where every replica sees it.

Each process is a replica with a random id (``me``) that says it is alive (``beat``) every few
seconds. A replica that has been silent for ``lease`` is dead: what it claimed (a chat to send
to; a broadcast delivery) is taken over or settled by the others.

* **Chats.** A replica sends to a chat only while it holds the chat's claim (``claim_chat``), so
  a chat's messages leave in order and one replica paces it. It lets go (``release_chat``) only
  when the chat has nothing queued: a message another replica queued meanwhile keeps the claim
  where it is, and the holder sends it. The chat's pacing (its token bucket, any 429 pause and
  a group's sends of the last minute) is written on release and read by the next claimer.
* **The bot's budget.** ``reserve`` takes the next free sending slot of the whole bot in one
  statement (slots are ``gap`` seconds apart: 30 per 1.05 s), after any bot-wide pause
  (``pause``). Times are seconds since the epoch, the same on every replica's host.

The statements are plain SQL on both backends (tested on both); the bot uses them only on
PostgreSQL, where several processes may share the database (``Store.shared``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import socket

import sqlalchemy as sa

from bot.store.db import Conn, Connections
from bot.store.schema import outbox, outbox_claims, replicas, send_budget
from bot.store.statements import upsert_for
from bot.store.values import Clock

BUDGET = "bot"


@dataclasses.dataclass(frozen=True)
class ChatPacing:
    """A chat's pacing handed from one replica to the next (None: nothing known, it is idle)."""

    tokens: float | None = None
    stamp: float | None = None  # when the bucket was last counted, seconds since the epoch
    not_before: float | None = None
    group_sends: tuple[float, ...] = ()  # a group's sends still in its window, oldest first


def _sends_text(sends: tuple[float, ...]) -> str | None:
    return " ".join(repr(at) for at in sends) or None


def _sends(text: str | None) -> tuple[float, ...]:
    return tuple(float(at) for at in text.split()) if text else ()


def new_replica_id() -> str:
    """This process's id: the host's name (for people reading the table) and a random part."""
    return f"{socket.gethostname()[:24]}-{secrets.token_hex(6)}"


def _greatest(conn: Conn, *values: sa.ColumnElement[float]) -> sa.ColumnElement[float]:
    # SQLite's max() of several arguments is PostgreSQL's greatest().
    if conn.dialect.name == "postgresql":
        return sa.func.greatest(*values)
    return sa.func.max(*values)


class Replicas:
    """This replica's view of the others (see the module doc)."""

    def __init__(
        self, connections: Connections, clock: Clock, *, me: str | None = None, lease: float = 15.0
    ) -> None:
        self._db = connections
        self._now = clock
        self.me = me or new_replica_id()
        self.lease = dt.timedelta(seconds=lease)

    def _alive(self) -> sa.ColumnElement[bool]:
        """Replicas heard from within the lease (a subquery of their ids)."""
        return replicas.c.seen_at >= self._now() - self.lease

    def live_ids(self) -> sa.Select[tuple[str]]:
        return sa.select(replicas.c.id).where(self._alive())

    async def beat(self) -> None:
        """Say this replica is alive (and register it, the first time)."""
        now = self._now()
        async with self._db._write() as conn:
            await conn.execute(
                upsert_for(conn.dialect.name, replicas)
                .values(id=self.me, started_at=now, seen_at=now)
                .on_conflict_do_update(index_elements=[replicas.c.id], set_={"seen_at": now})
            )

    async def retire(self) -> None:
        """A clean stop: let go of every chat and leave, so the others take over at once."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(outbox_claims)
                .where(outbox_claims.c.replica == self.me)
                .values(replica=None)
            )
            await conn.execute(sa.delete(replicas).where(replicas.c.id == self.me))

    async def alive(self) -> list[str]:
        """The replicas heard from within the lease."""
        async with self._db._read() as conn:
            return list((await conn.execute(self.live_ids().order_by(replicas.c.id))).scalars())

    # -- chats ----------------------------------------------------------------------------------

    async def claim_chat(self, *, chat_id: int) -> ChatPacing | None:
        """Take the chat's claim if it is free, this replica's, or a dead replica's; its pacing
        as the last holder left it. None: a live replica holds it (and sends what is queued)."""
        c = outbox_claims
        async with self._db._write() as conn:
            free = sa.or_(
                c.c.replica.is_(None),
                c.c.replica == self.me,
                c.c.replica.not_in(self.live_ids().scalar_subquery()),
            )
            row = (
                await conn.execute(
                    upsert_for(conn.dialect.name, c)
                    .values(chat_id=chat_id, replica=self.me)
                    .on_conflict_do_update(
                        index_elements=[c.c.chat_id], set_={"replica": self.me}, where=free
                    )
                    .returning(c.c.tokens, c.c.stamp, c.c.not_before, c.c.group_sends)
                )
            ).first()
        if row is None:
            return None
        return ChatPacing(
            tokens=row.tokens,
            stamp=row.stamp,
            not_before=row.not_before,
            group_sends=_sends(row.group_sends),
        )

    async def release_chat(self, *, chat_id: int, pacing: ChatPacing, released_at: float) -> bool:
        """Let go of a chat with nothing queued, leaving its pacing for the next claimer.

        False when something is queued for it (queued by another replica meanwhile: this one
        keeps the claim and sends it) or the claim is no longer this replica's."""
        c = outbox_claims
        queued = sa.exists().where(outbox.c.chat_id == chat_id)
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.update(c)
                .where(c.c.chat_id == chat_id, c.c.replica == self.me, ~queued)
                .values(
                    replica=None,
                    tokens=pacing.tokens,
                    stamp=pacing.stamp,
                    not_before=pacing.not_before,
                    group_sends=_sends_text(pacing.group_sends),
                    released_at=released_at,
                )
            )
            return result.rowcount == 1

    async def holder(self, *, chat_id: int) -> str | None:
        """The replica holding the chat's claim, if any."""
        async with self._db._read() as conn:
            holder = await conn.scalar(
                sa.select(outbox_claims.c.replica).where(outbox_claims.c.chat_id == chat_id)
            )
        return None if holder is None else str(holder)

    async def claimable(self) -> dict[int, int]:
        """Chats with queued messages that this replica may send to (their claim is free, its
        own or a dead replica's), each with its most urgent priority."""
        c = outbox_claims
        taken = sa.select(c.c.chat_id).where(
            c.c.replica.is_not(None),
            c.c.replica != self.me,
            c.c.replica.in_(self.live_ids().scalar_subquery()),
        )
        query = (
            sa.select(outbox.c.chat_id, sa.func.min(outbox.c.priority).label("priority"))
            .where(outbox.c.chat_id.not_in(taken))
            .group_by(outbox.c.chat_id)
        )
        async with self._db._read() as conn:
            rows = (await conn.execute(query)).all()
        return {int(row.chat_id): int(row.priority) for row in rows}

    # -- the bot's budget -----------------------------------------------------------------------

    async def reserve(self, *, now: float, gap: float) -> float:
        """The next free sending slot of the whole bot (not before ``now`` nor a bot-wide
        pause), taken for this replica: one statement."""
        b = send_budget
        async with self._db._write() as conn:
            slot = _greatest(conn, b.c.next_slot, sa.literal(now), b.c.paused_until)
            taken = await conn.scalar(
                upsert_for(conn.dialect.name, b)
                .values(name=BUDGET, next_slot=now + gap, paused_until=0.0)
                .on_conflict_do_update(
                    index_elements=[b.c.name], set_={"next_slot": slot + sa.literal(gap)}
                )
                .returning(b.c.next_slot)
            )
        return float(taken) - gap

    async def pause(self, *, until: float) -> None:
        """Telegram said the whole bot sends too fast: no slot before ``until``, anywhere."""
        b = send_budget
        async with self._db._write() as conn:
            await conn.execute(
                upsert_for(conn.dialect.name, b)
                .values(name=BUDGET, next_slot=0.0, paused_until=until)
                .on_conflict_do_update(
                    index_elements=[b.c.name],
                    set_={"paused_until": _greatest(conn, b.c.paused_until, sa.literal(until))},
                )
            )

    # -- retention ------------------------------------------------------------------------------

    async def purge(self, *, before: float) -> int:
        """Forget chats' pacing let go before ``before`` (seconds since the epoch; idle by then)
        and replicas silent for a day."""
        c = outbox_claims
        async with self._db._write() as conn:
            chats = await conn.execute(
                sa.delete(c).where(c.c.replica.is_(None), c.c.released_at < before)
            )
            gone = await conn.execute(
                sa.delete(replicas).where(replicas.c.seen_at < self._now() - dt.timedelta(days=1))
            )
            return int(chats.rowcount) + int(gone.rowcount)
