"""Machinery the benchmarks share: code trees, the bot as a child process, its figures.

Not a benchmark itself. ``CodeTree`` is a commit of this repository (this working tree, or one
checked out with ``git worktree add --detach`` into a temporary directory and removed
afterwards); ``BotChild`` runs ``python -m bot run`` from a tree with this checkout's ``.venv``
interpreter, long polling a fake Bot API on 127.0.0.1, and reads what the process leaves behind:
peak RSS, CPU, ERROR records in its log, the metrics file it writes on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_PROBLEMS = (" ERROR ", " CRITICAL ")
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


def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds so far, peak RSS in KiB) of a live process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    return cpu, peak


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


class BotChild:
    """``python -m bot run`` from ``tree``, in ``workdir``, with its log in a file."""

    def __init__(self, tree: CodeTree, workdir: Path, env: dict[str, str]) -> None:
        self.tree, self.workdir = tree, workdir
        self.log_path = workdir / f"bot-{time.monotonic_ns()}.log"
        self.metrics_path = workdir / f"{self.log_path.stem}.prom"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(tree.path),
            "PTB_TIMEDELTA": "true",
            "LOG_LEVEL": "WARNING",
            "CONTENT_DIR": str(tree.path / "content"),
            "METRICS_FILE": str(self.metrics_path),
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.exit_status: int | None = None

    async def start(self, polling: Callable[[], int]) -> None:
        """Start it; return once ``polling()`` (the fake's count of getUpdates) has grown."""
        before = polling()
        with self.log_path.open("wb") as log:
            # cwd: the work directory, so no .env of a checkout applies.
            self.process = await asyncio.create_subprocess_exec(
                interpreter(),
                "-m",
                "bot",
                "run",
                cwd=self.workdir,
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.perf_counter() + 60
        while polling() <= before:
            if self.process.returncode is not None or time.perf_counter() > deadline:
                self.kill()
                raise SystemExit(f"the bot did not start polling:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def usage(self) -> tuple[float, int]:
        return proc_usage(self.pid)

    async def stop(self, timeout: float = 45) -> int:
        """SIGTERM, as a service manager would; the exit status (-9 if it had to be killed).

        systemd gives a service 30 s (deploy/); a bot still running after ``timeout`` is killed.
        """
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_status = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.kill()
            await self.process.wait()
            self.exit_status = -9
        return self.exit_status

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_problems(self) -> list[str]:
        """ERROR and CRITICAL records; a traceback logged without one counts on its own."""
        lines = self.log().splitlines()
        records = [line for line in lines if any(p in line for p in LOG_PROBLEMS)]
        tracebacks = [line for line in lines if line.startswith("Traceback")]
        return records + tracebacks[len(records) :]

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
