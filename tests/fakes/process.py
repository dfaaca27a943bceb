"""finlit as a real child process, talking to the fake served over HTTP; shared with bench/."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.fakes.server import FakeTelegramServer

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_PROBLEMS = (" ERROR ", " CRITICAL ")


def run_finlit(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m bot *args`` run to its end, with only ``env`` (and PATH) in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def eventually(condition: Callable[[], object], seconds: float = 30.0) -> None:
    """Wait (bounded) until ``condition()`` is true: for work another process does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the bot did not do what was expected in time")
        await asyncio.sleep(0.02)


def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds so far, peak RSS in KiB) of a live process (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    return cpu, peak


class FinlitProcess:
    """``finlit run`` as a real child process, talking to a fake served over HTTP.

    Used as an async context manager, it never outlives the test: a process still running at
    the end is killed. With ``log``, what it logs goes to that file (benchmarks keep it); without,
    ``stop`` returns it. ``program`` replaces ``-m bot`` (a benchmark's own bot), ``code`` is the
    tree whose ``bot`` package runs (a benchmark's baseline commit) and ``python`` its interpreter.
    """

    def __init__(
        self,
        server: FakeTelegramServer,
        *,
        database_url: str,
        args: Sequence[str] = ("run",),
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        token: str = "424242:process-test-token",
        log: Path | None = None,
        program: Sequence[str] = ("-m", "bot"),
        code: Path = REPO_ROOT,
        python: str = sys.executable,
    ) -> None:
        self.command = [python, *program, *args]
        self.cwd = cwd or REPO_ROOT
        self.log_path = log
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(code),
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.exit_status: int | None = None

    async def start(self) -> None:
        """Start the process; it may not be polling yet (see ``start_polling``)."""
        if self.log_path is None:
            self.process = await self._spawn(asyncio.subprocess.PIPE)
        else:
            with self.log_path.open("wb") as log:
                self.process = await self._spawn(log.fileno())

    async def _spawn(self, stderr: int) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )

    async def start_polling(self, polls: Callable[[], int], seconds: float = 60) -> None:
        """Start it; return once ``polls()`` (the fake's count of getUpdates) has grown."""
        before = polls()
        await self.start()
        process = self.process
        assert process is not None
        try:
            await eventually(lambda: polls() > before or process.returncode is not None, seconds)
        except TimeoutError:
            self.kill_now()
            raise SystemExit(f"the bot did not start polling:\n{self.log()[-3000:]}") from None
        if process.returncode is not None:
            raise SystemExit(f"the bot exited with {process.returncode}:\n{self.log()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def usage(self) -> tuple[float, int]:
        """(CPU seconds so far, peak RSS in KiB)."""
        return proc_usage(self.pid)

    async def stop(self, timeout: float = 30) -> tuple[int, str]:
        """SIGTERM, as a service manager would; (exit status, everything it logged).

        A process still running after ``timeout`` is killed: its status is then -9.
        """
        assert self.process is not None
        if self.process.returncode is None:
            self.process.terminate()
        try:
            _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=timeout)
            self.exit_status = int(self.process.returncode or 0)
        except TimeoutError:
            await self.kill()
            stderr, self.exit_status = b"", -9
        return self.exit_status, self.log() if self.log_path else stderr.decode()

    def kill_now(self) -> None:
        """SIGKILL, sent at once (no await: callable from inside the fake's handler)."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.process is not None
        self.kill_now()
        await self.process.wait()

    def log(self) -> str:
        """What it logged so far (with ``log``; else only ``stop`` returns it)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_problems(self) -> list[str]:
        """ERROR and CRITICAL records; a traceback logged without one counts on its own."""
        lines = self.log().splitlines()
        records = [line for line in lines if any(p in line for p in LOG_PROBLEMS)]
        tracebacks = [line for line in lines if line.startswith("Traceback")]
        return records + tracebacks[len(records) :]

    async def __aenter__(self) -> FinlitProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.kill()
