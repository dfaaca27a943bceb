"""A lecture hall on Telegram's real limits: residents join by QR code and tap through together.

A program, not a test. The bot is a black box: ``python -m bot run`` in a child process (from
this working tree, and from a baseline commit checked out on its own), long polling
the fake Bot API of ``tests/fakes/`` served over HTTP on 127.0.0.1. The fake enforces Telegram's
limits, not shortened (``TelegramLimits.telegram()``: 30 messages in any second per bot; per
chat 1 a second with a burst of 3; 20 a minute per group; 429 with ``retry_after``) and refuses
a button's answer after 15 s ("query is too old").

The lecture: N residents join within 10 s by the cohort's link (``/start <code>``), then tap
through onboarding (agree, skip the profile, skip the check-up) and the first lesson (its
cards, then its quiz), thinking 2-6 s between taps (seeded), 12 taps each. Each acts on what
a phone shows: the newest bot message with buttons in their chat; whoever's screen has not
changed after a tap waits for it (up to ``--timeout``) and then taps again. Meanwhile a group
chatters once a second (now and then a command addressed to the bot) and one resident sends 5
texts a second for 10 s. With ``--broadcast``, an administrator sends an announcement to
20,000 residents just before the lecture. With ``--replicas``, this tree alone runs the
lecture on SQLite and on one and two PostgreSQL replicas in webhook mode (the fake POSTs each
update to the next replica in turn, as a load balancer in front of them would), medians of runs.

    python bench/lecture.py [--sizes 90,300] [--baseline REF | --no-baseline] [--broadcast]
                            [--replicas [--database-url URL]] [--runs N] [--seed 2026]
                            [--timeout 20] [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.fakes: the repository is not installed as such

import telegram  # noqa: E402

from bench.harness import (  # noqa: E402
    WEBHOOK_SECRET,
    BotChild,
    BotGroup,
    CodeTree,
    LoopLag,
    WebhookPump,
    free_port,
    interpreter,
    own_cpu,
    percentile,
    wait_healthy,
)
from bench.postgres import OwnDatabase  # noqa: E402
from tests.fakes.builders import press_update, text_update, user_json  # noqa: E402
from tests.fakes.limits import LIMITED_METHODS, LimitedTelegram, TelegramLimits  # noqa: E402
from tests.fakes.records import JSON, BotMessage  # noqa: E402
from tests.fakes.server import FakeTelegramServer  # noqa: E402

BASELINE = "c1430241807862e752d2645edeb20ae46ebdea85"  # main at c143024, before issue 11
TOKEN = "424242:lecture-bench"
ADMIN_ID = 900
COHORT_CODE = "hall2026qr"
FIRST_RESIDENT = 1_000_001
FLOODER = 4_000_001
GROUP = -1_001_777_000
GROUP_MEMBERS = range(3_000_001, 3_000_011)
FIRST_RECIPIENT = 2_000_001  # the broadcast's residents, seeded in the database
CEILING = 30.0  # Telegram's messages a second per bot
THINK = (2.0, 6.0)  # seconds between taps
GOAL_PRESS_P99_MS = 500.0
GOAL_VISIBLE_P95_MS = 2000.0
GOAL_RATE_SHARE = 28.0 / CEILING
GOAL_FAIRNESS = 2.0
BROADCAST_TEXT = "Village notice: the fraud-awareness talk is on Saturday at 3 pm in the hall."
CHATTER = ("大家好", "今天几点开始？", "我到了", "👍", "好的", "谢谢老师", "这个二维码怎么扫？")
COUNTERS = (
    "finlit_edits_coalesced_total",
    "finlit_edits_unchanged_total",
    "finlit_updates_collapsed_total",
    "finlit_press_toasts_total",
    "finlit_sends_total",
)
# The order in which a resident picks a button on the screen in front of them: agree, skip the
# profile, start the quiz, answer, next question, the lesson's next card, skip the check-up,
# the first topic. Anything else is an unexpected screen.
PREFERENCE = ("1:ok", "1:px", "1:q:", "1:a:", "1:n:", "1:c:", "1:t", "1:tp:")


@dataclasses.dataclass(frozen=True)
class Scenario:
    residents: int
    arrive_s: float = 10.0  # residents join within this many seconds
    taps: int = 12
    think: tuple[float, float] = THINK
    flood_s: float = 10.0  # the flooding resident: 5 texts a second for this long
    flood_rate: float = 5.0
    chatter_every: float = 1.0  # the group
    command_share: float = 0.1  # of the group's messages, addressed to the bot
    attempts: int = 3  # taps on one screen before a resident gives up
    broadcast: bool = False
    recipients: int = 20_000

    @property
    def demand(self) -> float:
        """Messages a second the taps ask for (one screen each), at the mean thinking time."""
        return self.residents / (sum(self.think) / 2)

    @property
    def over_capacity(self) -> bool:
        return self.demand > CEILING

    def describe(self) -> str:
        return (
            f"{self.residents} residents joining within {self.arrive_s:g} s, {self.taps} taps "
            f"each, {self.think[0]:g}-{self.think[1]:g} s between taps (demand about "
            f"{self.demand:.0f} messages/s against the ceiling of {CEILING:g}); a group chatting "
            f"every {self.chatter_every:g} s ({self.command_share:.0%} commands to the bot); one "
            f"resident sending {self.flood_rate:g} texts/s for {self.flood_s:g} s"
            + (f"; a broadcast to {self.recipients:,} running" if self.broadcast else "")
        )


@dataclasses.dataclass(frozen=True)
class Setup:
    """Where the bot runs: its database, how many processes, and how updates reach them."""

    database: str = "sqlite"  # or "postgresql"
    replicas: int = 1
    webhook: bool = False  # else long polling (one process only)

    @property
    def name(self) -> str:
        base = "SQLite" if self.database == "sqlite" else "PostgreSQL"
        return f"{base} x{self.replicas}" if self.webhook else base

    def describe(self) -> str:
        if not self.webhook:
            return f"one process long polling, {self.name}"
        return (
            f"{self.replicas} `finlit run --webhook` process{'es' if self.replicas > 1 else ''} "
            f"on {'one SQLite file' if self.database == 'sqlite' else 'one PostgreSQL database'}"
        )


POLLING = Setup()
REPLICA_SETUPS = (
    Setup("sqlite", 1, webhook=True),
    Setup("postgresql", 1, webhook=True),
    Setup("postgresql", 2, webhook=True),
)


# The fake Bot API, with Telegram's limits, watched.


@dataclasses.dataclass
class Tap:
    """One update a resident sent (a press, or the /start that joins), and what came of it."""

    chat: int
    pushed: float
    press: bool = True
    answered: float | None = None  # answerCallbackQuery accepted
    answer_refused: float | None = None  # an answer arrived too late ("query is too old")
    visible: float | None = None  # the first accepted call that changed the chat's screen

    def press_s(self) -> float:
        """Pushed to the answer's arrival (a refused late one included); inf if none came."""
        end = self.answered if self.answered is not None else self.answer_refused
        return end - self.pushed if end is not None else float("inf")

    def visible_s(self) -> float:
        return self.visible - self.pushed if self.visible is not None else float("inf")


class LectureTelegram(LimitedTelegram):
    """The fake with Telegram's limits, handing each accepted screen change to the chat's tap."""

    def __init__(self) -> None:
        super().__init__(limits=TelegramLimits.telegram(), clock=time.perf_counter)
        self.taps: dict[str, Tap] = {}  # by callback query id
        self.waiting: dict[int, collections.deque[Tap]] = {}  # chat -> taps without a reply
        self.screens: collections.Counter[int] = collections.Counter()  # chat -> changes
        self.changed: dict[int, asyncio.Event] = {}
        self.accepted_at: list[float] = []  # every message accepted, any chat
        self.not_modified = 0
        self.lecture_over = False
        self.refusals: collections.Counter[str] = collections.Counter()  # other than 429
        self.pump: WebhookPump | None = None  # webhook mode: updates are POSTed, not polled

    def push_update(self, update: JSON) -> JSON:
        """Long polling: queued for getUpdates; webhook mode: POSTed to a replica at once."""
        if self.pump is None:
            return super().push_update(update)
        if "update_id" not in update:
            update["update_id"] = self.next_update_id()
        self.pump.deliver(update)
        return update

    def expect(self, tap: Tap, query_id: str | None) -> None:
        if query_id is not None:
            self.taps[query_id] = tap
        self.waiting.setdefault(tap.chat, collections.deque()).append(tap)

    def event(self, chat: int) -> asyncio.Event:
        return self.changed.setdefault(chat, asyncio.Event())

    def observe(self, api: str, params: JSON, status: int, payload: bytes, at: float) -> None:
        """Hand each accepted screen change, and each answer to a press, to its tap."""
        if api == "answerCallbackQuery":
            tap = self.taps.get(str(params.get("callback_query_id")))
            if tap is not None and status == 200 and tap.answered is None:
                tap.answered = at
            elif tap is not None and status == 400 and tap.answer_refused is None:
                tap.answer_refused = at
        chat = params.get("chat_id")
        if status == 200 and api in LIMITED_METHODS and isinstance(chat, int):
            self.accepted_at.append(at)
            self.screens[chat] += 1
            queue = self.waiting.get(chat)
            if queue:
                queue.popleft().visible = at
            self.event(chat).set()
        elif status >= 400 and status != 429:
            description = json.loads(payload).get("description", "")
            self.not_modified += "message is not modified" in description
            self.refusals[f"{api} {status} {description[:80]} (to {who(chat)})"] += 1

    def screen(self, chat: int) -> BotMessage | None:
        """What a phone shows: the newest bot message with buttons in the chat."""
        alive = [m for m in self.messages.get(chat, {}).values() if m.buttons and not m.deleted]
        return max(alive, key=lambda m: m.message_id, default=None)

    async def wait_change(self, chat: int, seen: int, deadline: float) -> bool:
        """Wait (until ``deadline``) for the chat's screen to change after ``seen`` changes."""
        event = self.event(chat)
        while self.screens[chat] <= seen:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return self.screens[chat] > seen
        return True

    # -- users' updates ----------------------------------------------------------------------

    def text(self, user_id: int, chat: int, text: str) -> None:
        """A member of ``chat`` types ``text``."""
        chat_json = self.chats.get(chat) or self.add_chat(chat, first_name="Resident")
        self.push_update(text_update(self, resident_json(user_id), chat_json, text))

    def press(self, user_id: int, message: BotMessage, data: str) -> str:
        """A resident presses the button carrying ``data``; the callback query's id."""
        update = press_update(self, resident_json(user_id), message, data)
        self.push_update(update)
        return str(update["callback_query"]["id"])


def resident_json(user_id: int) -> JSON:
    """Everyone in the hall reads Chinese."""
    return user_json(user_id, "Resident", language_code="zh")


def who(chat: object) -> str:
    """Whose chat a call went to, for the list of refusals."""
    if chat == GROUP:
        return "the group"
    if chat == FLOODER:
        return "the flooding resident"
    if chat == ADMIN_ID:
        return "the administrator"
    if isinstance(chat, int) and chat >= FIRST_RECIPIENT and chat < FLOODER:
        return "a broadcast recipient"
    return "a resident" if isinstance(chat, int) else "no chat"


# The people in the hall.


def pick(message: BotMessage) -> str | None:
    """The button a resident walking through onboarding and the first lesson presses."""
    shown = [b.callback_data for row in message.buttons for b in row if b.callback_data]
    for preferred in PREFERENCE:
        if preferred.endswith(":"):
            found = [data for data in shown if data.startswith(preferred)]
        else:
            found = [data for data in shown if data == preferred]
        if not found:
            continue
        if preferred == "1:c:":  # the next card: the highest index offered (first lesson first)
            return max(found, key=lambda data: int(data.rsplit(":", 1)[-1]))
        return found[0]
    return None


@dataclasses.dataclass
class Outcome:
    """What one resident did."""

    join: Tap | None = None
    taps: list[Tap] = dataclasses.field(default_factory=list)
    gave_up: bool = False
    unexpected: str = ""  # the screen had no button the resident was looking for
    late: bool = False  # the lecture's time ran out first


async def resident(
    fake: LectureTelegram,
    user_id: int,
    scenario: Scenario,
    rng: random.Random,
    start: float,
    timeout: float,
    end: float,
) -> Outcome:
    """Join at a random moment, then tap through, each tap on the screen in front of them."""
    out = Outcome()
    fake.add_chat(user_id, chat_type="private", first_name="Resident")
    arrival = rng.uniform(0, scenario.arrive_s)
    thinking = [rng.uniform(*scenario.think) for _ in range(scenario.taps)]
    await asyncio.sleep(max(0.0, start + arrival - time.perf_counter()))
    for _ in range(scenario.attempts):  # no welcome in time: scan the code again
        seen = fake.screens[user_id]
        join = Tap(user_id, time.perf_counter(), press=False)
        out.join = out.join or join
        fake.expect(join, None)
        fake.text(user_id, user_id, f"/start {COHORT_CODE}")
        if await fake.wait_change(user_id, seen, min(end, time.perf_counter() + timeout)):
            break
    for pause in thinking:
        await asyncio.sleep(pause)
        for _ in range(scenario.attempts):
            if time.perf_counter() >= end:
                out.late = True
                return out
            message = fake.screen(user_id)
            if message is None:
                out.unexpected = "no screen with buttons"
                return out
            data = pick(message)
            if data is None:
                out.unexpected = f"no button to press among {message.labels}"
                return out
            seen = fake.screens[user_id]
            tap = Tap(user_id, time.perf_counter())
            out.taps.append(tap)
            fake.expect(tap, fake.press(user_id, message, data))
            if await fake.wait_change(user_id, seen, min(end, time.perf_counter() + timeout)):
                break
        else:
            out.gave_up = True
            return out
    return out


async def chatter(fake: LectureTelegram, scenario: Scenario, rng: random.Random, end: float) -> int:
    """The group: a message every second, now and then a command addressed to the bot."""
    fake.add_chat(GROUP, chat_type="supergroup", title="Lecture hall")
    sent = 0
    while time.perf_counter() < end and not fake.lecture_over:
        member = GROUP_MEMBERS[sent % len(GROUP_MEMBERS)]
        if rng.random() < scenario.command_share:
            fake.text(member, GROUP, f"/help@{fake.bot_username}")
        else:
            fake.text(member, GROUP, rng.choice(CHATTER))
        sent += 1
        await asyncio.sleep(scenario.chatter_every)
    return sent


async def flooder(fake: LectureTelegram, scenario: Scenario, start: float) -> int:
    """One resident, joined like the others, who sends texts faster than anyone can answer."""
    fake.add_chat(FLOODER, chat_type="private", first_name="Resident")
    fake.text(FLOODER, FLOODER, f"/start {COHORT_CODE}")
    await asyncio.sleep(max(0.0, start + 2.0 - time.perf_counter()))
    count = int(scenario.flood_s * scenario.flood_rate)
    for index in range(count):
        fake.text(FLOODER, FLOODER, f"你好？{index}")
        await asyncio.sleep(1 / scenario.flood_rate)
    return count


async def announce(fake: LectureTelegram) -> float | str:
    """The administrator's /broadcast and its Send, pressed at once; when Send was pressed,
    or what the administrator saw instead."""
    fake.add_chat(ADMIN_ID, chat_type="private", first_name="Admin")
    fake.text(ADMIN_ID, ADMIN_ID, f"/broadcast {BROADCAST_TEXT}")
    deadline = time.perf_counter() + 60
    while True:  # the preview may come as more than one message; Send is under the last
        seen = fake.screens[ADMIN_ID]
        preview = fake.screen(ADMIN_ID)
        shown = [b.callback_data or "" for row in preview.buttons for b in row] if preview else []
        send = next((data for data in shown if data.startswith("1:bs:")), None)
        if preview is not None and send is not None:
            break
        if not await fake.wait_change(ADMIN_ID, seen, deadline):
            last = fake.last_message(ADMIN_ID)
            return f"{last.visible[:300]!r} {last.labels}" if last else "nothing"
    fake.press(ADMIN_ID, preview, send)
    return time.perf_counter()


# The database, made by the code under test.

SEED = r"""
import asyncio, datetime as dt, sys
import sqlalchemy as sa
from bot.store import Store
from bot.store.schema import residents

url, code, admin, first, count = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])

async def main():
    store = await Store.open(url)
    try:
        # A baseline tree from before the store's feature repositories has the flat method.
        flat = getattr(store, "create_cohort", None)
        create = flat if flat is not None else store.cohorts.create
        await create(code=code, name="Lecture hall", created_by=admin)
    finally:
        await store.close()

asyncio.run(main())
if count:
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=30)
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(residents).values(consent_at=stamp, created_at=stamp, last_seen_at=stamp),
            [{"id": i, "language": "zh" if i % 5 else "en"} for i in range(first, first + count)],
        )
    engine.dispose()
"""


def seed(tree: CodeTree, url: str, workdir: Path, recipients: int) -> None:
    """The schema (the tree's migrations), the cohort, and the broadcast's residents."""
    command = [interpreter(), "-c", SEED, url, COHORT_CODE, str(ADMIN_ID)]
    command += [str(FIRST_RECIPIENT), str(recipients)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(tree.path)}
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"seeding the database with {tree.label} failed:\n{done.stderr}")


# One run.


@dataclasses.dataclass
class Figures:
    tree: str
    residents: int
    broadcast: bool
    press_s: list[float]
    visible_s: list[float]
    join_s: list[float]
    resident_medians: list[float]
    rate: float  # messages accepted a second while residents waited
    busy_s: int
    too_many: int
    too_many_by_limit: dict[str, int]
    unanswered: int
    too_old: int
    repeats: int
    not_modified: int
    other_refusals: dict[str, int]
    counters: dict[str, float] | None
    peak_rss_kib: int
    bot_cpu: float
    exit_status: int
    log_problems: list[str]
    gave_up: int
    unexpected: list[str]
    late: int
    taps_planned: int
    lecture_s: float
    timeout: float = 20.0
    harness_cpu: float = 0.0
    lag_worst_s: float = 0.0
    lag_late: int = 0
    too_many_near_stall: int = 0  # 429s within a second after this process's loop stalled
    broadcast_sent: int = 0
    first_problem: str = ""
    setup: str = ""
    peak_second: int = 0  # the most messages Telegram accepted in any one second
    sent_again: int = 0  # webhook: updates POSTed again after no acknowledgement
    not_delivered: int = 0  # webhook: updates never acknowledged
    handling_retried: int = 0  # units of work that failed and were tried again (the log says)
    deadlocks: int = 0  # of them, PostgreSQL deadlocks (replicas updating shared counters)

    @property
    def no_visible(self) -> int:
        """Presses without a visible reply within the timeout (a resident taps again then)."""
        return sum(1 for seconds in self.visible_s if seconds > self.timeout)

    def value(self, name: str) -> float:
        """The figures compared across runs, in milliseconds or as numbers."""
        ms = 1000.0
        return {
            "press p50": percentile(self.press_s, 0.5) * ms,
            "press p99": percentile(self.press_s, 0.99) * ms,
            "visible p50": percentile(self.visible_s, 0.5) * ms,
            "visible p95": percentile(self.visible_s, 0.95) * ms,
            "visible max": max(self.visible_s, default=float("nan")) * ms,
            "worst/median": self.fairness,
            "rate": self.rate,
        }[name]

    @property
    def fairness(self) -> float:
        """The worst resident's median wait over the median resident's."""
        if not self.resident_medians:
            return float("nan")
        middle = statistics.median(self.resident_medians)
        return max(self.resident_medians) / middle if middle > 0 else float("nan")


def busy_rate(taps: Sequence[Tap], accepted: Sequence[float], until: float) -> tuple[float, int]:
    """Messages accepted a second over the seconds in which some resident waited for a screen."""
    if not taps:
        return float("nan"), 0
    origin = min(tap.pushed for tap in taps)
    busy: set[int] = set()
    for tap in taps:
        end = tap.visible if tap.visible is not None else until
        busy.update(range(int(tap.pushed - origin), int(end - origin) + 1))
    sent = sum(1 for at in accepted if at >= origin and int(at - origin) in busy)
    return sent / len(busy), len(busy)


def busiest_second(accepted: Sequence[float]) -> int:
    """The most messages accepted within any one second (a sliding window over every send)."""
    ordered = sorted(accepted)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def run_lecture(
    tree: CodeTree,
    scenario: Scenario,
    args: argparse.Namespace,
    workdir: Path,
    seed_n: int,
    setup: Setup = POLLING,
) -> Figures:
    recipients = scenario.recipients if scenario.broadcast else 0
    if setup.database == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / f'lecture-{time.monotonic_ns()}.db'}"
        await asyncio.to_thread(seed, tree, url, workdir, recipients)
        return await run_on(tree, scenario, args, workdir, seed_n, setup, url)
    async with OwnDatabase(args.database_url, "finlit_bench_lecture") as database:
        await asyncio.to_thread(seed, tree, database.url, workdir, recipients)
        return await run_on(tree, scenario, args, workdir, seed_n, setup, database.url)


async def start_bots(
    tree: CodeTree,
    fake: LectureTelegram,
    server: FakeTelegramServer,
    workdir: Path,
    setup: Setup,
    url: str,
) -> BotGroup:
    """The bot as ``setup`` says: one process polling, or replicas behind a webhook."""
    env = {"ADMIN_IDS": str(ADMIN_ID)}
    if not setup.webhook:
        bot = BotChild(tree, workdir, server, database_url=url, token=TOKEN, env=env)
        await bot.start_polling(lambda: fake.polls)
        return BotGroup([bot])
    ports = [free_port() for _ in range(setup.replicas)]
    bots = BotGroup(
        [
            BotChild(
                tree,
                workdir,
                server,
                database_url=url,
                token=TOKEN,
                args=("run", "--webhook"),
                env={
                    **env,
                    "WEBHOOK_URL": "https://bot.example.org",
                    "WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "PORT": str(port),
                },
            )
            for port in ports
        ]
    )
    # Started together, as an operator's compose file does (on an empty PostgreSQL database
    # the migrations are serialised by the bot itself).
    await asyncio.gather(*(bot.start() for bot in bots.bots))
    await wait_healthy(ports, bots)
    fake.pump = WebhookPump(ports)
    return bots


async def run_on(
    tree: CodeTree,
    scenario: Scenario,
    args: argparse.Namespace,
    workdir: Path,
    seed_n: int,
    setup: Setup,
    url: str,
) -> Figures:
    fake = LectureTelegram()
    rng = random.Random(seed_n)
    async with FakeTelegramServer(fake) as server:
        fake.add_chat(ADMIN_ID, chat_type="private", first_name="Admin")
        bots = await start_bots(tree, fake, server, workdir, setup, url)
        try:
            # The harness keeps every call; a full collection would stall its loop (and bunch
            # up the fake's timestamps). The bot keeps its own collector.
            gc.collect()
            gc.disable()
            sent_at = await announce(fake) if scenario.broadcast else 0.0
            if isinstance(sent_at, str):
                raise SystemExit(f"{tree.label}: no Send button for the broadcast: {sent_at}")
            figures = await lecture(fake, bots, tree, scenario, args, rng)
        finally:
            gc.enable()
            if bots.running:
                await bots.stop(timeout=45)
            if fake.pump is not None:
                await fake.pump.close()
    if fake.pump is not None:
        figures.sent_again = fake.pump.sent_again
        figures.not_delivered = fake.pump.given_up
    if scenario.broadcast:
        recipients = range(FIRST_RECIPIENT, FIRST_RECIPIENT + scenario.recipients)
        figures.broadcast_sent = sum(n for chat, n in fake.screens.items() if chat in recipients)
    figures.setup = setup.name
    figures.exit_status = bots.exit_status
    figures.counters = bots.metrics()
    figures.log_problems = bots.log_problems()
    figures.handling_retried = bots.log_count("handling an update failed")
    figures.deadlocks = bots.log_count("deadlock detected")
    if figures.log_problems or figures.exit_status:
        kept = bots.keep_logs("lecture")
        figures.first_problem = "bot log kept: " + ", ".join(str(path) for path in kept)
    return figures


async def lecture(
    fake: LectureTelegram,
    bot: BotGroup,
    tree: CodeTree,
    scenario: Scenario,
    args: argparse.Namespace,
    rng: random.Random,
) -> Figures:
    start = time.perf_counter() + 0.5
    # Bounded: every resident is done by then, whatever the bot does.
    worst_case = scenario.arrive_s + scenario.taps * (scenario.think[1] + args.timeout)
    end = start + min(worst_case, args.lecture_limit)
    cpu_before, harness_before = bot.usage()[0], own_cpu()
    lag = LoopLag()
    lag.start()
    people = [
        resident(
            fake,
            FIRST_RESIDENT + index,
            scenario,
            random.Random(rng.getrandbits(64)),
            start,
            args.timeout,
            end,
        )
        for index in range(scenario.residents)
    ]
    group_rng = random.Random(rng.getrandbits(64))
    outcomes_task = asyncio.gather(*people)
    flood = asyncio.create_task(flooder(fake, scenario, start))
    talk = asyncio.create_task(chatter(fake, scenario, group_rng, end))
    outcomes: list[Outcome] = await outcomes_task
    finished = time.perf_counter()
    fake.lecture_over = True
    await flood
    await talk  # bounded by ``end``; it stops within a second of the residents
    # Answers and screens still on their way: wait for them, a bounded while.
    taps = [tap for o in outcomes for tap in ([o.join] if o.join else []) + o.taps]
    grace = time.perf_counter() + max(args.timeout, 15.0)
    while time.perf_counter() < grace and any(
        t.visible is None or (t.press and t.answered is None and t.answer_refused is None)
        for t in taps
    ):
        await asyncio.sleep(0.1)
    cpu, peak = bot.usage()
    elapsed = time.perf_counter() - start
    lag.stop()
    await bot.stop(timeout=45)
    presses = [tap for o in outcomes for tap in o.taps]
    rate, busy = busy_rate(taps, fake.accepted_at, finished)
    peak_second = busiest_second(fake.accepted_at)
    medians = [statistics.median([tap.visible_s() for tap in o.taps]) for o in outcomes if o.taps]
    by_limit: collections.Counter[str] = collections.Counter(
        refusal.limit for _, _, refusal in fake.too_many
    )
    unexpected = [o.unexpected for o in outcomes if o.unexpected]
    return Figures(
        tree=tree.label,
        residents=scenario.residents,
        broadcast=scenario.broadcast,
        press_s=[tap.press_s() for tap in presses],
        visible_s=[tap.visible_s() for tap in presses],
        join_s=[o.join.visible_s() for o in outcomes if o.join],
        resident_medians=medians,
        rate=rate,
        busy_s=busy,
        too_many=len(fake.too_many),
        too_many_by_limit=dict(by_limit),
        unanswered=sum(1 for t in presses if t.answered is None and t.answer_refused is None),
        too_old=fake.too_old,
        repeats=fake.limits.repeated,
        not_modified=fake.not_modified,
        other_refusals=dict(fake.refusals),
        counters=None,
        peak_rss_kib=peak,
        bot_cpu=(cpu - cpu_before) / elapsed,
        exit_status=0,
        log_problems=[],
        gave_up=sum(o.gave_up for o in outcomes),
        unexpected=unexpected,
        late=sum(o.late for o in outcomes),
        taps_planned=scenario.residents * scenario.taps,
        lecture_s=finished - start,
        timeout=args.timeout,
        harness_cpu=(own_cpu() - harness_before) / elapsed,
        lag_worst_s=lag.worst,
        lag_late=lag.late,
        too_many_near_stall=sum(1 for at, _, _ in fake.too_many if lag.near(at)),
        peak_second=peak_second,
    )


# Output.


def ms(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    return "never" if value == float("inf") else f"{value:.0f}"


def ratio(new: float, base: float) -> str:
    if new != new or base != base or base in (0, float("inf")) or new == float("inf"):
        return ""
    return f"{new / base:.2f}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "not met"


@dataclasses.dataclass
class Row:
    label: str
    value: Callable[[Figures], float]
    show: Callable[[float], str]
    goal: str = ""
    ok: Callable[[float], bool] | None = None


def rows(scenario: Scenario) -> list[Row]:
    millis = [
        Row(
            "press answer p50 ms",
            lambda f: f.value("press p50"),
            ms,
        ),
        Row(
            "press answer p99 ms",
            lambda f: f.value("press p99"),
            ms,
            f"< {GOAL_PRESS_P99_MS:g} ms",
            lambda v: v < GOAL_PRESS_P99_MS,
        ),
        Row("visible reply p50 ms", lambda f: f.value("visible p50"), ms),
    ]
    if scenario.over_capacity:
        millis.append(Row("visible reply p95 ms", lambda f: f.value("visible p95"), ms))
    else:
        millis.append(
            Row(
                "visible reply p95 ms",
                lambda f: f.value("visible p95"),
                ms,
                f"< {GOAL_VISIBLE_P95_MS:g} ms",
                lambda v: v < GOAL_VISIBLE_P95_MS,
            )
        )
    millis.append(Row("visible reply max ms", lambda f: f.value("visible max"), ms))
    millis.append(Row("no visible reply in time", lambda f: f.no_visible, lambda v: f"{v:.0f}"))
    fair = Row("worst/median resident", lambda f: f.fairness, lambda v: f"{v:.2f}x")
    rate = Row("send rate / 30 per s", lambda f: f.rate / CEILING, lambda v: f"{v:.0%}")
    if scenario.over_capacity:
        fair.goal, fair.ok = f"<= {GOAL_FAIRNESS:g}x", lambda v: v <= GOAL_FAIRNESS
        rate.goal, rate.ok = f">= {GOAL_RATE_SHARE:.0%}", lambda v: v >= GOAL_RATE_SHARE
    zero = lambda v: v == 0  # noqa: E731
    counts = [
        Row("429s received", lambda f: f.too_many, lambda v: f"{v:.0f}"),
        Row("presses unanswered", lambda f: f.unanswered, lambda v: f"{v:.0f}", "0", zero),
        Row('"query is too old"', lambda f: f.too_old, lambda v: f"{v:.0f}", "0", zero),
        Row("repeated before retry", lambda f: f.repeats, lambda v: f"{v:.0f}", "0", zero),
        Row('"not modified" refused', lambda f: f.not_modified, lambda v: f"{v:.0f}"),
    ]
    return [*millis, fair, rate, *counts]


def counter_cell(figures: Figures, name: str) -> str:
    if figures.counters is None or name not in figures.counters:
        return "n/a"
    return f"{figures.counters[name]:.0f}"


def line(label: str, cells: Sequence[str], tail: str = "") -> str:
    return (f"  {label:<26}" + "".join(f"{cell:>16}" for cell in cells) + f"   {tail}").rstrip()


def print_side_by_side(scenario: Scenario, columns: list[Figures], names: list[str]) -> None:
    both = len(columns) == 2
    head = names + (["new/baseline"] if both else [])
    print(line("", head, "goal: " + " | ".join(names)))
    for row in rows(scenario):
        values = [row.value(f) for f in columns]
        cells = [row.show(v) for v in values]
        if both:
            cells.append(ratio(values[0], values[1]))
        tail = ""
        if row.ok is not None:
            tail = f"{row.goal}: " + " | ".join(verdict(row.ok(v)) for v in values)
        print(line(row.label, cells, tail))
    for name in COUNTERS:
        label = name.removeprefix("finlit_").removesuffix("_total").replace("_", " ")
        print(line(label, [counter_cell(f, name) for f in columns]))
    print(line("peak RSS of the bot MiB", [f"{f.peak_rss_kib / 1024:.0f}" for f in columns]))
    print(line("bot CPU (share of a core)", [f"{f.bot_cpu:.0%}" for f in columns]))
    print(line("CPU: fake + residents", [f"{f.harness_cpu:.0%}" for f in columns]))
    print(
        line(
            "harness loop late: worst ms",
            [f"{f.lag_worst_s * 1000:.0f} ({f.lag_late} > 20)" for f in columns],
        )
    )
    print(line("busy seconds", [str(f.busy_s) for f in columns]))
    print(line("join -> welcome p95 ms", [ms(percentile(f.join_s, 0.95) * 1000) for f in columns]))
    print(line("presses (planned)", [f"{len(f.press_s)} ({f.taps_planned})" for f in columns]))
    print(line("lecture lasted s", [f"{f.lecture_s:.0f}" for f in columns]))
    for name, f in zip(names, columns, strict=True):
        notes = problems(f)
        for note in notes:
            print(f"  {name}: {note}")


def problems(f: Figures) -> list[str]:
    out = []
    if f.too_many_by_limit:
        out.append(
            "429s by limit: "
            + ", ".join(f"{k} {v}" for k, v in f.too_many_by_limit.items())
            + f"; {f.too_many_near_stall} of them within a second after the harness's event "
            "loop woke up over 20 ms late (those may be the harness's, not the bot's)"
        )
    if f.gave_up:
        out.append(f"{f.gave_up} residents gave up (screen unchanged after every tap)")
    if f.late:
        out.append(f"{f.late} residents ran out of lecture time")
    if f.unexpected:
        out.append(f"{len(f.unexpected)} unexpected screens, first: {f.unexpected[0][:160]}")
    for what, n in sorted(f.other_refusals.items(), key=lambda kv: -kv[1])[:4]:
        out.append(f"{n} x refused: {what}")
    if f.log_problems:
        out.append(f"{len(f.log_problems)} ERROR records in the bot's log, first: ")
        out.append(f"  {f.log_problems[0][:200]}")
    if f.exit_status:
        out.append(f"exit status {f.exit_status} on SIGTERM")
    if f.first_problem:
        out.append(f.first_problem)
    if f.broadcast:
        out.append(f"broadcast messages delivered during the run: {f.broadcast_sent}")
    return out


COMPARED = ("press p50", "press p99", "visible p50", "visible p95", "visible max")


def print_broadcast(label: str, without: list[Figures], with_: list[Figures]) -> None:
    """Medians of the runs, with and without the broadcast, and the goal per figure."""
    print(line("", ["without", "with broadcast", "difference"], "goal: within 20% or 200 ms"))
    for name in COMPARED:
        a = statistics.median(f.value(name) for f in without)
        b = statistics.median(f.value(name) for f in with_)
        allowed = max(0.2 * a, 200.0)
        diff = b - a
        ok = abs(diff) <= allowed if diff == diff else False
        print(
            line(
                f"{name} ms",
                [ms(a), ms(b), f"{diff:+.0f}" if diff == diff else "n/a"],
                f"|diff| <= {allowed:.0f}: {verdict(ok)}",
            )
        )
    others: list[tuple[str, Callable[[Figures], float]]] = [
        ("send rate / 30 per s", lambda f: f.rate / CEILING),
        ("429s received", lambda f: float(f.too_many)),
        ("presses unanswered", lambda f: float(f.unanswered)),
        ('"query is too old"', lambda f: float(f.too_old)),
    ]
    for name, pick_value in others:
        a = statistics.median(pick_value(f) for f in without)
        b = statistics.median(pick_value(f) for f in with_)
        spec = ".0%" if "rate" in name else ".0f"
        print(line(name, [format(a, spec), format(b, spec)]))
    sent = [f.broadcast_sent for f in with_]
    print(f"  {label}: broadcast messages delivered during each run: {sent}")
    for f in without + with_:
        for note in problems(f):
            if not note.startswith("broadcast"):
                print(f"  {label}{' (broadcast)' if f.broadcast else ''}: {note}")


REPLICA_COMPARED = ("press p99", "visible p95", "rate")


def median_of(runs: Sequence[Figures], value: Callable[[Figures], float]) -> float:
    return statistics.median(value(f) for f in runs)


def print_replicas(scenario: Scenario, table: list[list[Figures]], names: list[str]) -> None:
    """Medians of the runs per setup; then two replicas against one, figure by figure."""
    print(line("", names, "goal: " + " | ".join(names)))
    for row in rows(scenario):
        values = [median_of(runs, row.value) for runs in table]
        tail = ""
        if row.ok is not None:
            tail = f"{row.goal}: " + " | ".join(verdict(row.ok(v)) for v in values)
        print(line(row.label, [row.show(v) for v in values], tail))
    print(line("most sent in any second", [str(max(f.peak_second for f in r)) for r in table]))
    print(line("429s, all runs", [str(sum(f.too_many for f in r)) for r in table]))
    print(line("updates POSTed again", [str(sum(f.sent_again for f in r)) for r in table]))
    print(line("updates never acknowledged", [str(sum(f.not_delivered for f in r)) for r in table]))
    print(line("units of work retried", [str(sum(f.handling_retried for f in r)) for r in table]))
    print(line("  of them deadlocks", [str(sum(f.deadlocks for f in r)) for r in table]))
    print(
        line(
            "peak RSS per process MiB",
            [f"{median_of(r, lambda f: f.peak_rss_kib) / 1024:.0f}" for r in table],
        )
    )
    print(
        line("bot CPU, all processes", [f"{median_of(r, lambda f: f.bot_cpu):.0%}" for r in table])
    )
    for name, runs in zip(names, table, strict=True):
        for f in runs:
            for note in problems(f):
                print(f"  {name}: {note}")
    if len(table) < 3:
        return
    one, two = table[1], table[2]
    print(f"\n  {names[2]} against {names[1]} (medians): goal within 20% or 200 ms, and 0 x 429")
    print(line("", [names[1], names[2], "difference"]))
    for name in REPLICA_COMPARED:
        a = statistics.median(f.value(name) for f in one)
        b = statistics.median(f.value(name) for f in two)
        if name == "rate":
            share_a, share_b = a / CEILING, b / CEILING
            ok = abs(b - a) <= 0.2 * a
            print(
                line(
                    "send rate / 30 per s",
                    [f"{share_a:.0%}", f"{share_b:.0%}", ratio(b, a)],
                    f"within 20%: {verdict(ok)}",
                )
            )
            continue
        allowed = max(0.2 * a, 200.0)
        ok = b - a <= allowed
        print(
            line(
                f"{name} ms",
                [ms(a), ms(b), f"{b - a:+.0f}"],
                f"no more than {allowed:.0f} ms slower: {verdict(ok)}",
            )
        )
    too_many = sum(f.too_many for f in two)
    print(
        line(
            "429s received",
            [str(sum(f.too_many for f in one)), str(too_many)],
            f"0: {verdict(too_many == 0)}",
        )
    )


# Command line.


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="90,300", help="residents per lecture, e.g. 90,300")
    parser.add_argument(
        "--baseline", default=BASELINE, help="the commit to compare with (default: c143024)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="run this tree only")
    parser.add_argument(
        "--code",
        default=None,
        help="run this commit instead of the working tree as the new code (e.g. HEAD)",
    )
    parser.add_argument(
        "--broadcast",
        action="store_true",
        help="run each lecture with and without a 20,000-resident broadcast (medians of --runs)",
    )
    parser.add_argument("--recipients", type=int, default=20_000, help=argparse.SUPPRESS)
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure (1; 3 with --broadcast)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="seconds a resident waits for the screen to change before tapping again",
    )
    parser.add_argument(
        "--replicas",
        action="store_true",
        help="this tree on PostgreSQL with one and with two webhook replicas, next to SQLite "
        "(one webhook process); medians of --runs (default 3)",
    )
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="the PostgreSQL server for --replicas (a database of the run's own is made on it)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: under a minute")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.lecture_limit = 600.0
    try:
        args.size_list = [int(size) for size in args.sizes.split(",") if size.strip()]
    except ValueError:
        parser.error("--sizes: comma-separated numbers of residents")
    if args.replicas and args.broadcast:
        parser.error("--replicas runs the lecture without a broadcast")
    if args.runs is None:
        args.runs = 3 if args.broadcast or args.replicas else 1
    if args.quick:
        args.size_list, args.timeout, args.lecture_limit = [20], 8.0, 40.0
        args.runs = 1
        args.recipients = min(args.recipients, 2_000)
    if not args.size_list or min(args.size_list) < 1 or args.runs < 1 or args.timeout <= 0:
        parser.error("need at least 1 resident, 1 run and a positive timeout")
    return args


def scenario_for(size: int, args: argparse.Namespace, broadcast: bool) -> Scenario:
    if args.quick:
        return Scenario(
            size,
            arrive_s=3.0,
            taps=6,
            think=(1.0, 2.0),
            flood_s=2.0,
            broadcast=broadcast,
            recipients=args.recipients,
        )
    return Scenario(size, broadcast=broadcast, recipients=args.recipients)


async def run_replicas(args: argparse.Namespace, tree: CodeTree, workdir: Path) -> None:
    print(f"code: {tree.label} ({tree.path})")
    for setup in REPLICA_SETUPS:
        print(f"{setup.name}: {setup.describe()}")
    names = [setup.name for setup in REPLICA_SETUPS]
    for size in args.size_list:
        scenario = scenario_for(size, args, broadcast=False)
        print(f"\nlecture: {scenario.describe()}; seeds {args.seed}..{args.seed + args.runs - 1}")
        table: list[list[Figures]] = [[] for _ in REPLICA_SETUPS]
        for run in range(args.runs):  # interleaved, so a slow spell hits every setup alike
            for setup, runs in zip(REPLICA_SETUPS, table, strict=True):
                note = f"... {size} residents: {setup.name}, run {run + 1}"
                print(note, file=sys.stderr, flush=True)
                runs.append(
                    await run_lecture(tree, scenario, args, workdir, args.seed + run, setup)
                )
        print(f"medians of {args.runs} runs")
        print_replicas(scenario, table, names)


async def run_all(args: argparse.Namespace, trees: list[CodeTree], workdir: Path) -> None:
    if args.replicas:
        await run_replicas(args, trees[0], workdir)
        return
    names = ["new", "baseline"][: len(trees)]
    for tree, name in zip(trees, names, strict=True):
        print(f"{name}: {tree.label} ({tree.path})")
    for size in args.size_list:
        plain = scenario_for(size, args, broadcast=False)
        print(f"\nlecture: {plain.describe()}; seed {args.seed}")
        if not args.broadcast:
            columns = []
            for tree, name in zip(trees, names, strict=True):
                print(f"... {size} residents: {name}", file=sys.stderr, flush=True)
                columns.append(await run_lecture(tree, plain, args, workdir, args.seed))
            print_side_by_side(plain, columns, names)
            continue
        loud = scenario_for(size, args, broadcast=True)
        for tree, name in zip(trees, names, strict=True):
            without, with_ = [], []
            for run in range(args.runs):
                print(f"... {size} residents: {name}, run {run + 1}", file=sys.stderr, flush=True)
                without.append(await run_lecture(tree, plain, args, workdir, args.seed + run))
                with_.append(await run_lecture(tree, loud, args, workdir, args.seed + run))
            print(f"\n {name} ({tree.label}): medians of {args.runs} runs each")
            print_broadcast(name, without, with_)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    print(
        f"finlit lecture benchmark  (Python {platform.python_version()}, python-telegram-bot "
        f"{telegram.__version__}, {os.cpu_count()} cores)"
    )
    how = (
        "`python -m bot run --webhook` in child processes, the fake POSTing each update to "
        "the next one in turn (a round-robin load balancer; at most 40 requests open, as "
        "Telegram), SQLite in /tmp or a fresh PostgreSQL database each run"
        if args.replicas
        else "`python -m bot run` in a child process, long polling the fake Bot API of "
        "tests/fakes/ over HTTP on 127.0.0.1, SQLite in /tmp"
    )
    print(
        f"setup: {how}; the fake enforces Telegram's "
        "limits, not shortened (30 messages in any second; per chat 1/s, burst 3; 20/min per "
        "group; 429 with retry_after) and refuses a press answered after 15 s"
    )
    print(
        "press answer = update offered (to getUpdates, or POSTed) -> answerCallbackQuery "
        "accepted (a late "
        "refused one counts its arrival); visible reply = offered -> first accepted call that "
        "changes the resident's chat; send rate = messages accepted per second over the "
        "seconds in which some resident waited for a screen"
    )
    workdir = Path(tempfile.mkdtemp(prefix="finlit-lecture-", dir="/tmp"))
    trees = [CodeTree(args.code)]
    if not args.no_baseline and not args.replicas:
        trees.append(CodeTree(args.baseline))
    try:
        with contextlib.ExitStack() as stack:
            for tree in trees:
                stack.enter_context(tree)
            asyncio.run(run_all(args, trees, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ntotal run time {time.perf_counter() - began:.0f} s", end="")
    print(f"; work directory kept: {workdir}" if args.keep else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
