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
    ) -> None:
        log = workdir / f"bot-{time.monotonic_ns()}.log"
        self.tree = tree
        self.metrics_path = workdir / f"{log.stem}.prom"
        super().__init__(
            server,
            database_url=database_url,
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
