"""How many residents finlit serves, and how fast it reacts, next to a minimal echo bot.

A program, not a test. The fake Bot API of ``tests/fakes/`` is served over HTTP on 127.0.0.1
(it confirms updates by offset, wakes long polls, answers sends and validates them like
Telegram); simulated residents talk to it from this process, and the bot under test runs in a
child process, long polling it exactly as ``finlit run`` polls Telegram. Each measurement is run
twice the same way: once with finlit (``build_application``, SQLite) and once with a minimal
python-telegram-bot echo bot (one reply per update, no database), the framework's floor.

* saturation: N residents each walk a scripted path (/start, agree, skip the profile, skip the
  check-up, a topic, a lesson's cards, its quiz) in a closed loop, each sending its next update
  as soon as the bot has replied to the previous one; updates handled per second.
* latency: updates arrive open loop (Poisson) at a fixed rate from N residents who stand at
  random points of the path; p50/p95/p99 from an update to the bot's reaction.

    python bench/load.py [--residents 500] [--saturation-seconds 30] [--rate 50]
                         [--latency-seconds 60] [--only saturation|latency] [--quick]
                         [--limits off|on|both] [--limited-rate 20] [--timeout 10]
                         [--seed 2026] [--profile] [--keep]

Each measurement runs with Telegram's limits off (no pacing, no 429s: what the code costs) and
on (the fake enforces Telegram's limits, not shortened, and the bots pace as in production:
what residents get), side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import itertools
import json
import logging
import math
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.fakes: the repository is not installed as such

import telegram  # noqa: E402

from bench.harness import own_cpu as harness_cpu  # noqa: E402
from tests.fakes.limits import LimitedTelegram, TelegramLimits  # noqa: E402
from tests.fakes.process import FinlitProcess  # noqa: E402
from tests.fakes.records import JSON, BotMessage  # noqa: E402
from tests.fakes.server import FakeTelegramServer  # noqa: E402

TOKEN = "424242:load-bench"
TOPIC = "pay"
LESSON = "pay-codes"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
CONCURRENT_UPDATES = 16  # finlit's (bot/app.py); the echo bot gets the same
WARMUP_S = 2.0
GOAL_THROUGHPUT = 0.5  # finlit's saturation throughput, as a share of the echo bot's
GOAL_P95_MS = 100.0
# Methods that put a screen in a chat (the reply); answerCallbackQuery only stops the spinner.
SCREEN_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument"}
)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # bot/logs.py's
EXCEPTION_LINE = re.compile(r"([a-z_]\w*\.)+[A-Z]\w*: |[A-Z]\w*(Error|Exception): ")


# The fake Bot API, watched.


@dataclasses.dataclass
class Step:
    """One update a resident sent, and when the bot reacted to it."""

    press: bool  # a button press (answered with answerCallbackQuery), else a text message
    pushed: float  # when the update was offered to getUpdates
    reaction: float | None = None  # the first Bot API call it caused arrived at the fake
    reply: float | None = None  # the call carrying the new screen arrived
    answered: bool = False
    done: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def on_call(self, method: str, at: float) -> None:
        if self.reaction is None:
            self.reaction = at
        if method == "answerCallbackQuery":
            self.answered = True
        elif method in SCREEN_METHODS and self.reply is None:
            self.reply = at
        if self.reply is not None and (self.answered or not self.press):
            self.done.set()


class WatchedTelegram(LimitedTelegram):
    """The fake, plus a hook: each call the bot makes in a chat is handed to that chat's step.

    Calls are attributed to a chat by ``chat_id`` or, for answerCallbackQuery, by the query id
    the resident issued. Every refusal (4xx/5xx) the fake answers is counted. A late answer to a
    button is not refused here (no 15-s window): this measures the bot, not Telegram's patience.
    """

    def __init__(self, *, limits: TelegramLimits) -> None:
        super().__init__(limits=limits, query_window=math.inf, clock=time.perf_counter)
        self.pending: dict[int, Step] = {}
        self.query_chat: dict[str, int] = {}
        self.refusals: collections.Counter[str] = collections.Counter()

    def observe(self, api: str, params: JSON, status: int, payload: bytes, at: float) -> None:
        """Count refusals; hand the call to the step waiting in its chat."""
        chat_id: int | None = None
        if api == "answerCallbackQuery":
            chat_id = self.query_chat.pop(str(params.get("callback_query_id")), None)
        elif isinstance(params.get("chat_id"), int):
            chat_id = params["chat_id"]
        if status == 429:
            limit = self.too_many[-1][2].limit
            self.refusals[f"{api} 429 Too Many Requests ({limit})"] += 1
            return
        if status >= 400:
            description = json.loads(payload).get("description", "")
            self.refusals[f"{api} {status} {description}"] += 1
        step = self.pending.get(chat_id) if chat_id is not None else None
        if chat_id is not None and step is not None:
            step.on_call(api, at)
            if step.done.is_set():
                del self.pending[chat_id]


# The residents.

# A path step: ("text", "/start"), ("press", callback data), ("answer", position) or
# ("next", position): answer the quiz's question at a position / go on to the next one.
PathStep = tuple[str, Any]


def scripted_path() -> list[PathStep]:
    """The walk every resident takes, sized by the real content."""
    from bot.core.checks import load_content

    content = load_content(ROOT / "content")
    lesson = next(
        lesson
        for topic in content.curriculum.topics
        if topic.id == TOPIC
        for lesson in topic.lessons
        if lesson.id == LESSON
    )
    path: list[PathStep] = [("text", "/start")]
    path += [("press", data) for data in ("1:ok", "1:px", "1:t", f"1:tp:{TOPIC}")]
    path += [("press", f"1:c:{LESSON}:{index}") for index in range(len(lesson.cards))]
    path.append(("press", f"1:q:{LESSON}"))
    for position in range(len(lesson.quiz)):
        path += [("answer", position), ("next", position + 1)]  # the last "next": the result
    return path


def describe_path(path: Sequence[PathStep]) -> str:
    cards = sum(1 for kind, data in path if kind == "press" and data.startswith("1:c:"))
    questions = sum(1 for kind, _ in path if kind == "answer")
    return (
        f"/start, agree, skip profile, skip check-up, topic {TOPIC}, {cards} cards of "
        f"{LESSON}, its quiz ({questions} questions: answer, next) = {len(path)} updates"
    )


class Resident:
    """A Telegram user walking the path; who finishes it starts again as a new user."""

    def __init__(
        self,
        fake: WatchedTelegram,
        path: Sequence[PathStep],
        ids: Iterator[int],
        shows_buttons: bool,
    ) -> None:
        self.fake, self.path, self.ids = fake, path, ids
        # The echo bot shows no buttons: its resident sends the same kinds of update anyway,
        # with callback data made up in the same shape.
        self.shows_buttons = shows_buttons
        self.walks = 0
        self.new_user()

    def new_user(self) -> None:
        self.id = next(self.ids)
        self.walks += 1
        self.position = 0
        self.user = {"id": self.id, "is_bot": False, "first_name": "Resident"}
        self.user["language_code"] = "zh-hans"
        self.chat = self.fake.add_chat(self.id, chat_type="private", first_name="Resident")

    def advance(self) -> None:
        self.position += 1
        if self.position == len(self.path):
            self.new_user()

    def _data(self, kind: str, value: Any, message: BotMessage) -> str | None:
        if not self.shows_buttons:
            if kind == "answer":
                return f"1:a:{self.walks}:{value}:0"
            return f"1:n:{self.walks}:{value}" if kind == "next" else str(value)
        shown = [b.callback_data or "" for row in message.buttons for b in row]
        if kind == "press":
            return value if value in shown else None
        prefix = "1:a:" if kind == "answer" else "1:n:"
        for data in shown:  # the first answer offered: right or wrong, one screen either way
            parts = data.split(":")
            if data.startswith(prefix) and len(parts) > 3 and parts[3] == str(value):
                return data
        return None

    def send(self) -> Step | str:
        """Offer the next update of the path; a Step, or what was wrong with the screen."""
        kind, value = self.path[self.position]
        update: dict[str, Any]
        if kind == "text":
            message = {
                "message_id": self.fake.next_message_id(self.id),
                "from": self.user,
                "chat": self.chat,
                "date": int(time.time()),
                "text": value,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(value)}],
            }
            self.fake.note_user_message(self.id, message)
            update = {"message": message}
        else:
            last = self.fake.last_message(self.id)
            if last is None:
                return "no bot message to press a button on"
            data = self._data(kind, value, last)
            if data is None:
                return f"unexpected screen: no button for {kind} {value}"
            query_id = self.fake.issue_callback_query()
            self.fake.query_chat[query_id] = self.id
            update = {
                "callback_query": {
                    "id": query_id,
                    "from": self.user,
                    "message": self.fake.message_json(last),
                    "chat_instance": str(-self.id * 7919 - 13),
                    "data": data,
                }
            }
        step = Step(press=kind != "text", pushed=time.perf_counter())
        self.fake.pending[self.id] = step
        self.fake.push_update(update)
        return step


@dataclasses.dataclass
class Tally:
    """What the residents saw."""

    steps: list[Step] = dataclasses.field(default_factory=list)  # completed, in the window
    completed: int = 0  # all completed, warm-up and drain included
    no_reply: int = 0  # no full reply within the timeout
    wrong_screen: int = 0
    dropped: int = 0  # arrivals with no idle resident (open loop only)
    first_problem: str = ""

    def problem(self, what: str) -> None:
        self.first_problem = self.first_problem or what


async def take_step(resident: Resident, tally: Tally, timeout: float) -> Step | None:
    """One step of a resident, waiting for the full reply; None (and counted) if it failed."""
    sent = resident.send()
    if isinstance(sent, str):
        tally.wrong_screen += 1
        tally.problem(f"{sent} (resident at step {resident.position + 1})")
        resident.new_user()
        return None
    try:
        await asyncio.wait_for(sent.done.wait(), timeout)
    except TimeoutError:
        resident.fake.pending.pop(resident.id, None)
        tally.no_reply += 1
        step = resident.path[resident.position]
        tally.problem(f"no full reply within {timeout:g} s to {step[0]} {step[1]}")
        resident.new_user()
        return None
    tally.completed += 1
    resident.advance()
    return sent


# The bot under test, in its own process.


class BotProcess(FinlitProcess):
    """``kind`` ("finlit" or "echo") polling the fake from a child process."""

    def __init__(
        self,
        kind: str,
        workdir: Path,
        paced: bool,
        profile: Path | None,
        server: FakeTelegramServer,
    ) -> None:
        log = workdir / f"{kind}-{time.monotonic_ns()}.log"
        program = [str(Path(__file__).resolve())]
        args = ["--serve-bot", kind] + (["--paced"] if paced else [])
        if paced and kind == "finlit":
            # Telegram's limits on: finlit exactly as shipped, whatever its delivery does.
            program, args = ["-m", "bot"], ["run"]
        if profile is not None:
            args += ["--profile-to", str(profile)]
        super().__init__(
            server,
            database_url=f"sqlite+aiosqlite:///{workdir}/{log.stem}.db",
            args=args,
            env={"PTB_TIMEDELTA": "true"},
            cwd=workdir,  # the work directory, so no .env of the repository applies
            token=TOKEN,
            log=log,
            program=program,
        )
        self.kind = kind

    def reset_peak(self) -> None:
        """Start VmHWM afresh (Linux: writing 5 to clear_refs); ignored where not allowed."""
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def exceptions(self) -> collections.Counter[str]:
        """The exceptions in the log's tracebacks ("module.Error: message"), counted."""
        return collections.Counter(
            line[:160] for line in self.log().splitlines() if EXCEPTION_LINE.match(line)
        )

    def keep_log(self, label: str) -> Path:
        """A copy of the log that outlives the work directory."""
        assert self.log_path is not None
        kept = Path(tempfile.gettempdir()) / f"finlit-load-{label}-{time.strftime('%H%M%S')}.log"
        shutil.copyfile(self.log_path, kept)
        return kept


# Measurements.


@dataclasses.dataclass
class Result:
    kind: str
    tally: Tally
    seconds: float  # the measured window
    refusals: collections.Counter[str]
    log_problems: list[str]
    exit_status: int
    peak_rss_kib: int
    bot_cpu: float  # share of one core over the window
    harness_cpu: float
    extra: dict[str, float] = dataclasses.field(default_factory=dict)
    exceptions: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    kept_log: Path | None = None

    @property
    def errors(self) -> int:
        t = self.tally
        return (
            t.no_reply
            + t.wrong_screen
            + t.dropped
            + sum(self.refusals.values())
            + len(self.log_problems)
            + (self.exit_status != 0)
        )

    @property
    def per_second(self) -> float:
        return len(self.tally.steps) / self.seconds

    def percentile_ms(self, q: float, what: str = "reaction") -> float:
        """Nearest rank."""
        values = sorted(
            (getattr(s, what) or math.inf) - s.pushed for s in self.tally.steps if s.reply
        )
        if not values:
            return math.nan
        return values[max(0, math.ceil(q * len(values)) - 1)] * 1000

    def error_lines(self) -> list[str]:
        t = self.tally
        out = []
        for label, n in (
            ("no full reply in time", t.no_reply),
            ("unexpected screen", t.wrong_screen),
            ("arrivals with every resident still waiting", t.dropped),
        ):
            if n:
                out.append(f"{n} {label}")
        if t.first_problem:
            out.append(f"first: {t.first_problem}")
        out += [f"{n} x refused: {what}" for what, n in self.refusals.most_common(5)]
        if self.log_problems:
            out.append(f"{len(self.log_problems)} error(s) in the bot's log, first:")
            out.append(f"  {self.log_problems[0][:200]}")
            out += [f"  {n} x {line}" for line, n in self.exceptions.most_common(3)]
            out.append(f"  the whole log: {self.kept_log}")
        if self.exit_status:
            out.append(f"exit status {self.exit_status} after SIGTERM")
        return out


class Meter:
    """CPU of the bot process and of this process over the measured window."""

    def __init__(self, bot: BotProcess) -> None:
        self.bot = bot
        self.began = self.bot_cpu = self.own_cpu = 0.0

    def start(self) -> None:
        self.began = time.perf_counter()
        self.bot_cpu = self.bot.usage()[0]
        self.own_cpu = harness_cpu()

    def stop(self) -> tuple[float, float]:
        elapsed = time.perf_counter() - self.began
        return (
            (self.bot.usage()[0] - self.bot_cpu) / elapsed,
            (harness_cpu() - self.own_cpu) / elapsed,
        )


async def saturation(
    fake: WatchedTelegram, bot: BotProcess, path: Sequence[PathStep], args: argparse.Namespace
) -> tuple[Tally, float, float]:
    """Every resident in a closed loop; the steps completed within the window."""
    tally = Tally()
    ids = itertools.count(1_000_001)
    residents = [Resident(fake, path, ids, bot.kind == "finlit") for _ in range(args.residents)]
    meter = Meter(bot)
    began = time.perf_counter()
    window = (began + WARMUP_S, began + WARMUP_S + args.saturation_seconds)

    async def walk(resident: Resident) -> None:
        while time.perf_counter() < window[1]:
            step = await take_step(resident, tally, args.timeout)
            if step is not None and step.reply is not None and window[0] <= step.reply < window[1]:
                tally.steps.append(step)

    async def measure_cpu() -> tuple[float, float]:
        await asyncio.sleep(WARMUP_S)
        meter.start()
        await asyncio.sleep(args.saturation_seconds)
        return meter.stop()

    cpu = asyncio.create_task(measure_cpu())
    await asyncio.gather(*(walk(r) for r in residents))  # the last steps drain after the window
    bot_cpu, own_cpu = await cpu
    return tally, bot_cpu, own_cpu


async def latency(
    fake: WatchedTelegram, bot: BotProcess, path: Sequence[PathStep], args: argparse.Namespace
) -> tuple[Tally, float, float, float]:
    """Residents primed at random points of the path, then open-loop Poisson arrivals."""
    rng = random.Random(args.seed)
    ids = itertools.count(1_000_001)
    residents = [Resident(fake, path, ids, bot.kind == "finlit") for _ in range(args.residents)]
    # Priming (not measured): each resident walks, as fast as the bot answers, to a random point.
    priming = Tally()

    async def prime(resident: Resident, steps: int) -> None:
        for _ in range(steps):
            if await take_step(resident, priming, args.timeout) is None:
                return

    primed = time.perf_counter()
    await asyncio.gather(*(prime(r, rng.randrange(len(path))) for r in residents))
    primed = time.perf_counter() - primed
    await asyncio.sleep(1.0)  # let the bot finish the last replies' bookkeeping
    bot.reset_peak()

    tally = Tally(
        no_reply=priming.no_reply,
        wrong_screen=priming.wrong_screen,
        first_problem=priming.first_problem and f"while priming: {priming.first_problem}",
    )
    idle = collections.deque(residents)
    rng.shuffle(idle)
    tasks: set[asyncio.Task[None]] = set()
    meter = Meter(bot)

    async def one(resident: Resident, measured: bool) -> None:
        step = await take_step(resident, tally, args.timeout)
        if step is not None and measured:
            tally.steps.append(step)
        idle.append(resident)

    began = time.perf_counter()
    end = WARMUP_S + args.latency_seconds
    at = rng.expovariate(args.rate)
    measuring = False
    while at < end:
        delay = began + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not measuring and at >= WARMUP_S:
            measuring = True
            meter.start()
        if idle:
            task = asyncio.create_task(one(idle.popleft(), at >= WARMUP_S))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif at >= WARMUP_S:
            tally.dropped += 1
        at += rng.expovariate(args.rate)
    bot_cpu, own_cpu = meter.stop()
    if tasks:
        await asyncio.gather(*tasks)
    return tally, bot_cpu, own_cpu, primed


async def run_one(
    kind: str,
    mode: str,
    path: Sequence[PathStep],
    args: argparse.Namespace,
    workdir: Path,
    limits: bool,
) -> Result:
    """One measurement of one bot, with Telegram's limits on (enforced and paced) or off."""
    fake = WatchedTelegram(limits=TelegramLimits.telegram() if limits else TelegramLimits.off())
    profiled = args.profile and kind == "finlit" and not limits
    profile = workdir / f"{kind}-{mode}.prof" if profiled else None
    run_args = argparse.Namespace(**vars(args))
    if limits:
        run_args.timeout = max(args.timeout, args.limited_timeout)
        run_args.rate = args.limited_rate
    async with FakeTelegramServer(fake) as server:
        bot = BotProcess(kind, workdir, limits, profile, server)
        await bot.start_polling(lambda: fake.polls)
        extra: dict[str, float] = {}
        try:
            if mode == "saturation":
                tally, bot_cpu, own_cpu = await saturation(fake, bot, path, run_args)
                seconds = args.saturation_seconds
            else:
                tally, bot_cpu, own_cpu, primed = await latency(fake, bot, path, run_args)
                seconds = args.latency_seconds
                extra["primed_s"] = primed
            peak = bot.usage()[1]
        finally:
            status, _ = await bot.stop(timeout=60)
        if profile is not None:
            args.profiles.append((f"{kind} {mode}", profile))
        refusals = collections.Counter(
            {k: v for k, v in fake.refusals.items() if not k.startswith(("setMyCommands",))}
        )
        extra["too_many"] = len(fake.too_many)
        extra["repeats"] = fake.limits.repeated
        problems = bot.log_problems()
        suffix = "limits" if limits else "free"
        return Result(
            kind=kind,
            tally=tally,
            seconds=seconds,
            refusals=refusals,
            log_problems=problems,
            exceptions=bot.exceptions(),
            kept_log=bot.keep_log(f"{kind}-{mode}-{suffix}") if problems else None,
            exit_status=status,
            peak_rss_kib=peak,
            bot_cpu=bot_cpu,
            harness_cpu=own_cpu,
            extra=extra,
        )


# Output.

# Results of one measurement: {"off" | "on": (finlit, echo)}, in the order run.
Pairs = dict[str, tuple[Result, Result]]
SETTING_NAMES = {"off": "limits off", "on": "Telegram's limits on"}


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def row(label: str, cells: Sequence[str], goal: str = "") -> str:
    return (f"  {label:<22}" + "".join(f"{c:>10}" for c in cells) + f"   {goal}").rstrip()


def triple(f: str, e: str, ratio: str = "") -> list[str]:
    """One setting's cells: finlit, echo and their ratio (the ratio column is wider)."""
    return [f, e, f"{ratio:>3}"]


def heads(pairs: Pairs) -> None:
    """Two header lines: the settings, then finlit / echo / finlit/echo under each."""
    print("  " + " " * 22 + "".join(f"{SETTING_NAMES[k]:>30}" for k in pairs))
    print(row("", [cell for _ in pairs for cell in ("finlit", "echo", "f/echo")], "goal"))


def print_common(pairs: Pairs, goal_setting: str | None) -> None:
    def cells(pick: Callable[[Result, Result], list[str]]) -> list[str]:
        return [c for f, e in pairs.values() for c in pick(f, e)]

    goal = ""
    if goal_setting in pairs:
        f = pairs[goal_setting][0]
        goal = f"0 ({SETTING_NAMES[goal_setting]}): {verdict(f.errors == 0)}"
    print(row("errors", cells(lambda f, e: triple(str(f.errors), str(e.errors))), goal))
    print(
        row(
            "429s answered",
            cells(lambda f, e: triple(f"{f.extra['too_many']:.0f}", f"{e.extra['too_many']:.0f}")),
        )
    )
    print(
        row(
            "repeated before retry",
            cells(lambda f, e: triple(f"{f.extra['repeats']:.0f}", f"{e.extra['repeats']:.0f}")),
        )
    )
    print(
        row(
            "peak RSS of the bot",
            cells(
                lambda f, e: triple(
                    mib(f.peak_rss_kib),
                    mib(e.peak_rss_kib),
                    f"{f.peak_rss_kib / e.peak_rss_kib:.1f}x",
                )
            ),
        )
    )
    print(
        row("CPU: bot process", cells(lambda f, e: triple(f"{f.bot_cpu:.0%}", f"{e.bot_cpu:.0%}")))
    )
    print(
        row(
            "CPU: fake + residents",
            cells(lambda f, e: triple(f"{f.harness_cpu:.0%}", f"{e.harness_cpu:.0%}")),
        )
    )
    for setting, (f, e) in pairs.items():
        for r in (f, e):
            for line in r.error_lines():
                print(f"  {r.kind}, {SETTING_NAMES[setting]}: {line}")


def print_saturation(pairs: Pairs, args: argparse.Namespace) -> bool:
    print(
        f"\nsaturation: {args.residents} residents in a closed loop (each sends its next update "
        f"once the previous one is fully answered), {args.saturation_seconds:g} s after a "
        f"{WARMUP_S:g} s warm-up"
    )
    heads(pairs)
    shares = {
        k: f.per_second / e.per_second if e.per_second else math.nan for k, (f, e) in pairs.items()
    }
    ok = True
    goal = ""
    if "off" in pairs:
        met = shares["off"] >= GOAL_THROUGHPUT
        ok = met and pairs["off"][0].errors == 0
        goal = f">= {GOAL_THROUGHPUT:.0%} of echo (limits off): {verdict(met)}"
    cells = [
        c
        for k, (f, e) in pairs.items()
        for c in triple(f"{f.per_second:.1f}", f"{e.per_second:.1f}", f"{shares[k]:.0%}")
    ]
    print(row("updates handled/s", cells, goal))

    def p(r: Result, q: float) -> str:
        return f"{r.percentile_ms(q, 'reply'):.0f}"

    print(row("reply p50 ms", [c for f, e in pairs.values() for c in triple(p(f, 0.5), p(e, 0.5))]))
    print(
        row("reply p95 ms", [c for f, e in pairs.values() for c in triple(p(f, 0.95), p(e, 0.95))])
    )
    print_common(pairs, "off")
    return ok


def print_latency(pairs: Pairs, args: argparse.Namespace) -> bool:
    rates = ", ".join(
        f"{args.rate if k == 'off' else args.limited_rate:g} updates/s with {SETTING_NAMES[k]}"
        for k in pairs
    )
    primed = "; ".join(
        f"{SETTING_NAMES[k]}: finlit primed in {f.extra.get('primed_s', 0):.0f} s, echo in "
        f"{e.extra.get('primed_s', 0):.0f} s"
        for k, (f, e) in pairs.items()
    )
    print(
        f"\nlatency: open loop (Poisson arrivals, seed {args.seed}): {rates}; for "
        f"{args.latency_seconds:g} s after a {WARMUP_S:g} s warm-up, from {args.residents} "
        f"residents primed at random points of the path ({primed}; peak RSS counted after "
        "priming)"
    )
    heads(pairs)
    ok = True
    for what in ("reaction", "reply"):
        for q in (0.5, 0.95, 0.99):
            cells = []
            for f, e in pairs.values():
                fv, ev = f.percentile_ms(q, what), e.percentile_ms(q, what)
                cells += triple(f"{fv:.1f}", f"{ev:.1f}", f"{fv / ev:.1f}x")
            goal = ""
            if what == "reaction" and q == 0.95 and "off" in pairs:
                fv = pairs["off"][0].percentile_ms(q)
                ok = fv < GOAL_P95_MS and pairs["off"][0].errors == 0
                goal = f"< {GOAL_P95_MS:g} ms (limits off): {verdict(fv < GOAL_P95_MS)}"
            print(row(f"{what} p{q * 100:.0f} ms", cells, goal))
    measured = [
        c
        for f, e in pairs.values()
        for c in triple(str(len(f.tally.steps)), str(len(e.tally.steps)))
    ]
    print(row("updates measured", measured))
    print_common(pairs, "off")
    return ok


def print_header(args: argparse.Namespace, path: Sequence[PathStep]) -> None:
    print(
        f"finlit load benchmark  (Python {platform.python_version()}, python-telegram-bot "
        f"{telegram.__version__}, {os.cpu_count()} cores)"
    )
    print(
        "setup: the fake Bot API of tests/fakes/ over HTTP on 127.0.0.1 and the residents in this "
        "process; the bot in a child process, long polling"
    )
    print(
        f"bots: finlit = build_application (SQLite in /tmp) | echo = a bare PTB Application, no "
        f"database, replying once per update; both {CONCURRENT_UPDATES} updates at once, the "
        "same request pools"
    )
    settings = {
        "off": "limits off = no pacing for either bot (PacedRateLimiter with every rate 0: "
        "retries kept, never waits; finlit's delivery engine, where it has one, with "
        "Limits.unlimited()) and no limits at the fake",
        "on": "Telegram's limits on = the fake enforces them, not shortened (30 messages in any "
        "second, per chat 1/s with a burst of 3, 20/min per group; 429 with retry_after); finlit "
        "runs as shipped (`python -m bot run`), the echo bot with finlit's production "
        f"PacedRateLimiter; a reply may take up to {max(args.timeout, args.limited_timeout):g} s",
    }
    for setting in args.settings:
        print(settings[setting])
    print(f"path: {describe_path(path)}; whoever finishes starts again as a new user")
    print(
        "reaction = the bot's first Bot API call caused by an update (answerCallbackQuery for "
        "a press, sendMessage for /start), timed from the update being offered to getUpdates "
        "to the call reaching the fake; reply = the call with the new screen "
        "(sendMessage/editMessageText); an update is handled once its reply is in"
    )
    print(
        "errors = updates without a full reply within the timeout + unexpected screens "
        "+ refusals by the fake (4xx/5xx, 429s included) + errors in the bot's log (ERROR "
        "records) + a non-zero exit on SIGTERM"
    )


def print_profiles(profiles: list[tuple[str, Path]]) -> None:
    import pstats

    for label, path in profiles:
        if not path.is_file():
            print(f"\nno profile written for {label}")
            continue
        print(f"\nprofile of the finlit process ({label}), by own time:")
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.strip_dirs().sort_stats("tottime").print_stats(25)


# The bots, when this file runs as the child process.


def serve_finlit(paced: bool) -> None:
    """finlit with no pacing (limits off); with the limits on it runs as `python -m bot run`."""
    import inspect

    from bot.app import build_application
    from bot.logs import configure_logging
    from bot.settings import Settings

    settings = Settings(_env_file=None)
    configure_logging(settings)
    options: dict[str, Any] = {}
    if "pacing" in inspect.signature(build_application).parameters:
        # The delivery engine (issue 11) takes its limits as a Pacing.
        from bot.telegram.pacing import Limits, Pacing

        options["pacing"] = Pacing(limits=Limits.unlimited())
    else:
        options["rate_limiter"] = unpaced()
    application = build_application(settings, **options)
    application.run_polling(allowed_updates=ALLOWED_UPDATES)


def unpaced() -> Any:
    """finlit's PacedRateLimiter with every rate 0: retries kept, never waits."""
    from bench.echo_limiter import PacedRateLimiter

    return PacedRateLimiter(overall_max_rate=0, chat_max_rate=0, group_max_rate=0)


def echo_limiter(paced: bool) -> Any:
    """The echo bot's limiter: finlit's PacedRateLimiter (production rates when ``paced``)."""
    try:
        from bench.echo_limiter import PacedRateLimiter
    except ImportError:  # a finlit without it: the echo bot neither paces nor retries
        if paced:
            raise SystemExit("the echo bot needs bench/echo_limiter.py to pace") from None
        return None
    return PacedRateLimiter() if paced else unpaced()


def serve_echo(paced: bool) -> None:
    """The floor: python-telegram-bot alone, one reply per update."""
    from telegram import Update
    from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler
    from telegram.ext import filters as f
    from telegram.request import HTTPXRequest

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        await context.bot.send_message(message.chat_id, message.text or "?")

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"pressed {query.data}")

    builder = (
        Application.builder()
        .token(TOKEN)
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .request(HTTPXRequest(connection_pool_size=256))
        .get_updates_request(HTTPXRequest())
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    limiter = echo_limiter(paced)
    if limiter is not None:
        builder = builder.rate_limiter(limiter)
    application = builder.build()
    application.add_handler(MessageHandler(f.TEXT, echo))
    application.add_handler(CallbackQueryHandler(press))
    application.run_polling(allowed_updates=ALLOWED_UPDATES)


def serve(kind: str, paced: bool, profile_to: str | None) -> int:
    target: Callable[[bool], None] = serve_finlit if kind == "finlit" else serve_echo
    if profile_to is None:
        target(paced)
        return 0
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        target(paced)
    finally:
        profiler.disable()
        profiler.dump_stats(profile_to)
    return 0


# Command line.


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--saturation-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=50.0, help="updates/s in the latency run")
    parser.add_argument("--latency-seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=["saturation", "latency"])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 50 residents, 5 s per measurement"
    )
    parser.add_argument(
        "--limits",
        choices=["off", "on", "both"],
        default="both",
        help="Telegram's limits off (no pacing, no 429s), on (enforced by the fake, bots paced), "
        "or both side by side (default)",
    )
    parser.add_argument(
        "--limited-rate",
        type=float,
        default=20.0,
        help="updates/s in the latency run with the limits on (below Telegram's 30 messages/s)",
    )
    parser.add_argument(
        "--limited-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for a reply with the limits on",
    )
    parser.add_argument("--paced", action="store_true", help=argparse.SUPPRESS)  # the child's
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a reply")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the finlit process; print the top"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, DBs)")
    parser.add_argument("--serve-bot", choices=["finlit", "echo"], help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.residents, args.saturation_seconds, args.latency_seconds = 50, 5.0, 5.0
    if args.residents < 1 or args.rate <= 0 or args.timeout <= 0:
        parser.error("need at least 1 resident, a positive rate and a positive timeout")
    if args.saturation_seconds <= 0 or args.latency_seconds <= 0:
        parser.error("durations must be positive")
    args.profiles = []
    args.settings = ["off", "on"] if args.limits == "both" else [args.limits]
    return args


async def run_all(args: argparse.Namespace, path: Sequence[PathStep], workdir: Path) -> int:
    ok = True
    modes = [args.only] if args.only else ["saturation", "latency"]
    for mode in modes:
        pairs: Pairs = {}
        for setting in args.settings:
            results = {}
            for kind in ("echo", "finlit"):
                print(f"... {mode}: {kind}, {SETTING_NAMES[setting]}", file=sys.stderr, flush=True)
                results[kind] = await run_one(kind, mode, path, args, workdir, setting == "on")
            pairs[setting] = (results["finlit"], results["echo"])
        show = print_saturation if mode == "saturation" else print_latency
        ok = show(pairs, args) and ok
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bot:
        return serve(args.serve_bot, args.paced, args.profile_to)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    began = time.perf_counter()
    path = scripted_path()
    workdir = Path(tempfile.mkdtemp(prefix="finlit-load-", dir="/tmp"))
    try:
        print_header(args, path)
        status = asyncio.run(run_all(args, path, workdir))
        print_profiles(args.profiles)
        print(f"\ntotal run time {time.perf_counter() - began:.0f} s", end="")
        print(f"; work directory kept: {workdir}" if args.keep else "")
        return status
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
