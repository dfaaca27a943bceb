"""The asker built in the background: a start does not wait for the search's index (the
segmenter's dictionary takes a second or two), and a question that comes before it is ready
waits for it rather than going unanswered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable

from bot.core.ask import Asker


class AskerLoader:
    """Builds an asker once, on a thread of its own, from ``start``; ``asker`` waits for it."""

    def __init__(self, build: Callable[[], Asker]) -> None:
        self._build = build
        self._future: concurrent.futures.Future[Asker] = concurrent.futures.Future()
        self._started = False
        self._lock = threading.Lock()

    @classmethod
    def built(cls, asker: Asker) -> AskerLoader:
        """An asker that is ready already (tests, tools)."""
        loader = cls(lambda: asker)
        loader._started = True
        loader._future.set_result(asker)
        return loader

    @property
    def ready(self) -> bool:
        return self._future.done()

    def start(self) -> None:
        """Begin building, once; returns at once."""
        with self._lock:
            if self._started:
                return
            self._started = True
        # A daemon thread, not the loop's executor: a stop never waits for a build in progress.
        threading.Thread(target=self._run, name="finlit-asker", daemon=True).start()

    def _run(self) -> None:
        try:
            asker = self._build()
        except BaseException as exc:  # handed to whoever waits, never lost in the thread
            self._future.set_exception(exc)
        else:
            self._future.set_result(asker)

    async def asker(self) -> Asker:
        """The asker, once built (started here if nobody did)."""
        if not self._future.done():
            self.start()
            # Waiting does not block the loop, so other updates are answered meanwhile; shielded,
            # so a waiter cancelled (a stop) does not cancel the build for everyone else.
            return await asyncio.shield(asyncio.wrap_future(self._future))
        return self._future.result()
