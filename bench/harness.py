"""Machinery the benchmarks share: code trees, the bot as a child process, its figures.

Not a benchmark itself. ``CodeTree`` is a commit of this repository (this working tree, or one
checked out with ``git worktree add --detach`` into a temporary directory and removed
afterwards); ``BotChild`` is the tests' ``FinlitProcess`` (tests/fakes/process.py) running
``python -m bot run`` from a tree with this checkout's ``.venv`` interpreter, long polling a fake
Bot API on 127.0.0.1, and reads the metrics file it writes on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.fakes: the repository is not installed as such

from tests.fakes.process import FinlitProcess  # noqa: E402
from tests.fakes.server import FakeTelegramServer  # noqa: E402

_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([-+0-9.eEinfaINFA]+)$")


def git(*args: str, cwd: Path = ROOT) -> str:
    """A git command's output, stripped; raises on failure."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


class CodeTree:
    """Code to run: this working tree (``ref`` None) or a commit checked out on its own."""

    def __init__(self, ref: str | None) -> None:
        self.ref = ref
        self.path = ROOT
        self._tmp: Path | None = None
        if ref is None:
            head = git("rev-parse", "--short", "HEAD")
            dirty = git("status", "--porcelain", "--", "bot", "content", "pyproject.toml")
            self.commit = head + (" + uncommitted changes" if dirty else "")
            self.label = f"working tree at {self.commit}"
        else:
            self.commit = git("rev-parse", "--short", f"{ref}^{{commit}}")
            self.label = f"commit {self.commit}"

    def __enter__(self) -> CodeTree:
        if self.ref is not None:
            self._tmp = Path(tempfile.mkdtemp(prefix="finlit-tree-", dir="/tmp"))
            self.path = self._tmp / "tree"
            git("worktree", "add", "--detach", str(self.path), self.ref)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                git("worktree", "remove", "--force", str(self.path))
            shutil.rmtree(self._tmp, ignore_errors=True)
            with contextlib.suppress(subprocess.CalledProcessError):
                git("worktree", "prune")


def interpreter() -> str:
    """This checkout's virtual environment (the dependencies are the same for every tree)."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank; NaN when there is nothing to rank."""
    ranked = sorted(values)
    if not ranked:
        return math.nan
    return ranked[max(0, math.ceil(q * len(ranked)) - 1)]


def read_metrics(path: Path) -> dict[str, float]:
    """Prometheus text: unlabelled samples by name (labelled ones summed per name)."""
    found: dict[str, float] = {}
    if not path.is_file():
        return found
    for line in path.read_text().splitlines():
        match = _METRIC_LINE.match(line.strip())
        if match:
            name, value = match.group(1), float(match.group(3))
            found[name] = found.get(name, 0.0) + value
    return found


class BotChild(FinlitProcess):
    """``python -m bot run`` from ``tree``, in ``workdir``, its log and metrics in files."""

    def __init__(
        self,
        tree: CodeTree,
        workdir: Path,
        server: FakeTelegramServer,
        *,
        database_url: str,
        token: str,
        env: dict[str, str],
        args: Sequence[str] = ("run",),
    ) -> None:
        log = workdir / f"bot-{time.monotonic_ns()}.log"
        self.tree = tree
        self.metrics_path = workdir / f"{log.stem}.prom"
        super().__init__(
            server,
            database_url=database_url,
            args=args,
            env={
                "PTB_TIMEDELTA": "true",
                "CONTENT_DIR": str(tree.path / "content"),
                "METRICS_FILE": str(self.metrics_path),
                **env,
            },
            cwd=workdir,  # the work directory, so no .env of a checkout applies
            token=token,
            log=log,
            code=tree.path,
            python=interpreter(),
        )

    def metrics(self) -> dict[str, float] | None:
        """What it wrote to METRICS_FILE when it stopped; None if it wrote nothing."""
        return read_metrics(self.metrics_path) if self.metrics_path.is_file() else None


class BotGroup:
    """Replicas of one bot, measured as one: CPU summed, the largest peak memory, metrics summed.

    One ``BotChild`` is a group of one, so a benchmark treats one process and several alike.
    """

    def __init__(self, bots: Sequence[BotChild]) -> None:
        self.bots = list(bots)

    def usage(self) -> tuple[float, int]:
        """(CPU seconds of all replicas so far, the largest peak RSS in KiB)."""
        used = [bot.usage() for bot in self.bots]
        return sum(cpu for cpu, _ in used), max(peak for _, peak in used)

    async def stop(self, timeout: float = 30) -> None:
        await asyncio.gather(
            *(bot.stop(timeout=timeout) for bot in self.bots if bot.exit_status is None)
        )

    @property
    def running(self) -> bool:
        return any(bot.exit_status is None for bot in self.bots)

    @property
    def exit_status(self) -> int:
        """The first replica's non-zero exit status, else 0."""
        return next((bot.exit_status for bot in self.bots if bot.exit_status), 0)

    def metrics(self) -> dict[str, float] | None:
        found = [m for m in (bot.metrics() for bot in self.bots) if m is not None]
        if not found:
            return None
        total: dict[str, float] = {}
        for one in found:
            for name, value in one.items():
                total[name] = total.get(name, 0.0) + value
        return total

    def log_problems(self) -> list[str]:
        return [problem for bot in self.bots for problem in bot.log_problems()]

    def log_count(self, text: str) -> int:
        """Lines of all replicas' logs that contain ``text``."""
        return sum(line.count(text) for bot in self.bots for line in bot.log().splitlines())

    def keep_logs(self, label: str) -> list[Path]:
        """Copy every replica's log to the temporary directory; where they went."""
        kept = []
        for index, bot in enumerate(self.bots):
            if bot.log_path is None or not bot.log_path.exists():
                continue
            target = (
                Path(tempfile.gettempdir())
                / f"finlit-{label}-{time.strftime('%H%M%S')}-{index}.log"
            )
            shutil.copyfile(bot.log_path, target)
            kept.append(target)
        return kept


WEBHOOK_SECRET = "bench-replicas-share-one-secret-of-43-chars"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookPump:
    """Telegram's side of a webhook, behind a round-robin load balancer.

    Each update is POSTed as soon as it happens, to the next replica in turn, with at most
    ``connections`` requests open at once (Telegram's default ``max_connections``: 40); one that
    is not acknowledged (an error, a refused connection) is sent again half a second later, as
    Telegram does, to the next replica.
    """

    RETRY_S = 0.5

    def __init__(self, ports: Sequence[int], path: str = "/telegram", connections: int = 40):
        import httpx  # only the webhook benchmarks need it

        self._httpx = httpx
        self.path = path
        self.clients = [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30)
            for port in ports
        ]
        self.slots = asyncio.Semaphore(connections)
        self.turn = 0
        self.sent_again = 0
        self.given_up = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def deliver(self, update: dict[str, object]) -> None:
        """POST ``update`` soon (called from the fake, inside the running loop)."""
        task = asyncio.get_running_loop().create_task(self._post(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, update: dict[str, object], attempts: int = 40) -> None:
        for _ in range(attempts):
            async with self.slots:
                client = self.clients[self.turn % len(self.clients)]
                self.turn += 1
                try:
                    response = await client.post(
                        self.path, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}
                    )
                    if response.status_code == 200:
                        return
                except self._httpx.HTTPError:
                    pass
            self.sent_again += 1
            await asyncio.sleep(self.RETRY_S)
        self.given_up += 1

    async def close(self, timeout: float = 30) -> None:
        """Wait (a bounded while) for the updates in flight, then close the connections."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        for client in self.clients:
            await client.aclose()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_healthy(ports: Sequence[int], bots: BotGroup, seconds: float = 90) -> None:
    """Until every replica answers ``GET /healthz`` with 200; exits if one died first."""
    import httpx

    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        for port, bot in zip(ports, bots.bots, strict=True):
            while True:
                if bot.process is not None and bot.process.returncode is not None:
                    raise SystemExit(
                        f"a replica exited with {bot.process.returncode}:\n{bot.log()[-3000:]}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                if time.perf_counter() > deadline:
                    bot.kill_now()
                    raise SystemExit(f"a replica never became healthy:\n{bot.log()[-3000:]}")
                await asyncio.sleep(0.2)


def own_cpu() -> float:
    """CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoopLag:
    """How late this process's event loop wakes up: the fake's timestamps are only as good.

    A stalled loop stamps calls that arrived apart as if they came together, which can make
    429s that are the harness's, not the bot's.
    """

    TICK = 0.01
    LATE = 0.02

    def __init__(self) -> None:
        self.worst = 0.0
        self.stalls: list[tuple[float, float]] = []  # (when, seconds late) over LATE
        self._task: asyncio.Task[None] | None = None

    @property
    def late(self) -> int:
        """Wake-ups more than LATE seconds late."""
        return len(self.stalls)

    def worst_before(self, at: float, span: float = 1.0) -> float:
        """The worst stall in the ``span`` seconds up to ``at`` (0 if none)."""
        return max((late for when, late in self.stalls if at - span <= when <= at), default=0.0)

    def near(self, at: float, span: float = 1.0) -> bool:
        """Whether the loop stalled in the ``span`` seconds up to ``at``."""
        return any(at - span <= when <= at + self.LATE for when, _ in self.stalls)

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        while True:  # until stop() cancels it
            before = time.perf_counter()
            await asyncio.sleep(self.TICK)
            now = time.perf_counter()
            late = now - before - self.TICK
            self.worst = max(self.worst, late)
            if late > self.LATE:
                self.stalls.append((now, late))
