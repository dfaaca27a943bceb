"""Operational figures, exposed in Prometheus' text format on /metrics (webhook mode).

Every metric is declared once, here, with ``prometheus_client``. The counters and the latency
histogram are about this process's work, so one ``Metrics`` per process (``METRICS``) holds them,
in a registry of its own: never prometheus_client's global default registry, so that tests which
build many applications (and many ``Metrics``) in one process never collide. What /metrics serves
is a registry per application (``Metrics.registry_for``): the process's figures plus that
application's own queue depth.

Several processes on one host (replicas) can share one view: with ``PROMETHEUS_MULTIPROC_DIR``
set to a directory they all write their figures there (prometheus_client's multiprocess mode,
chosen when prometheus_client is imported), and /metrics from any of them reports the sums over
all of them (``MultiProcessCollector``); the queue depth stays the answering process's own.

Call sites name counters by string (``METRICS.inc("finlit_sends_total")``); ``CounterName`` lets
mypy check those names, and an unknown name fails loudly at run time too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal, get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    write_to_textfile,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bot.settings import MULTIPROC_ENV

# The exposition /metrics always had: no ``<name>_created`` series next to each counter and the
# histogram (prometheus_client adds them by default; scrapers and dashboards expect none). A
# switch of the library's, for the whole process.
disable_created_metrics()

CounterName = Literal[
    "finlit_updates_handled_total",
    "finlit_handler_errors_total",
    "finlit_send_retries_total",
    "finlit_flood_waits_total",
    "finlit_sends_total",
    "finlit_webhook_rejected_total",
    "finlit_webhook_forged_total",
    "finlit_edits_coalesced_total",
    "finlit_edits_unchanged_total",
    "finlit_updates_collapsed_total",
    "finlit_press_toasts_total",
    "finlit_updates_forged_total",
    "finlit_broadcast_errors_total",
]

COUNTERS: Mapping[CounterName, str] = {
    "finlit_updates_handled_total": "Updates handled (committed or answered)",
    "finlit_handler_errors_total": "Updates whose handling failed in a handler",
    "finlit_send_retries_total": "Sends that failed (network error, 5xx) and were retried",
    "finlit_flood_waits_total": "429 answers (flood control) from Telegram",
    "finlit_sends_total": "Messages Telegram accepted",
    "finlit_webhook_rejected_total": "Webhook requests refused for a missing or wrong secret",
    "finlit_webhook_forged_total": "Webhook updates dropped: a private chat not its sender's",
    # Message economy (delivery.py, dispatch.py, handlers.py).
    "finlit_edits_coalesced_total": "Queued edits skipped because a newer edit superseded them",
    "finlit_edits_unchanged_total": "Edits not sent because the chat already shows them",
    "finlit_updates_collapsed_total": "Updates collapsed into a newer one of the same resident",
    "finlit_press_toasts_total": "Button presses answered with a short toast",
    "finlit_updates_forged_total": "Updates dropped: a private chat not its sender's",
    "finlit_broadcast_errors_total": "Failures of the broadcast worker (it carries on)",
}

# Seconds; an update's handling time falls in the first bucket at or above it.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_NAME = "finlit_update_latency_seconds"
LATENCY_HELP = "Time from an update's arrival to the end of its handling"
QUEUE_DEPTH_NAME = "finlit_queue_depth"
QUEUE_DEPTH_HELP = "Updates waiting in the application's update queue"


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR, if set: prometheus_client reads it from the environment itself."""
    return os.environ.get(MULTIPROC_ENV) or None


class QueueDepth:
    """One application's update-queue depth, read when scraped."""

    def __init__(self, depth: Callable[[], int]) -> None:
        self._depth = depth

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(QUEUE_DEPTH_NAME, QUEUE_DEPTH_HELP, value=self._depth())

    def describe(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(QUEUE_DEPTH_NAME, QUEUE_DEPTH_HELP)


class Metrics:
    """This process's counters and latency histogram, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters: dict[str, Counter] = {
            name: Counter(name, description, registry=self.registry)
            for name, description in COUNTERS.items()
        }
        self._latency = Histogram(
            LATENCY_NAME, LATENCY_HELP, buckets=LATENCY_BUCKETS, registry=self.registry
        )

    def inc(self, name: CounterName, amount: float = 1) -> None:
        """Add ``amount`` to the counter ``name`` (declared in ``COUNTERS``)."""
        counter = self._counters.get(name)
        if counter is None:
            raise KeyError(f"unknown metric {name!r}: declare it in bot/telegram/metrics.py")
        counter.inc(amount)

    def observe_latency(self, seconds: float) -> None:
        """One update's handling time."""
        self._latency.observe(seconds)

    def value(self, name: CounterName) -> float:
        """A counter's value in this process (tests, and the benchmarks' figures)."""
        if name not in self._counters:
            raise KeyError(f"unknown metric {name!r}")
        found = self.registry.get_sample_value(name)
        return 0.0 if found is None else found

    @property
    def counters(self) -> dict[str, float]:
        """Every counter's value in this process, by name."""
        return {name: self.value(name) for name in get_args(CounterName)}

    def registry_for(self, *own: Collector) -> CollectorRegistry:
        """What one application's /metrics serves: the process's figures (every process's, in
        multiprocess mode) and the application's own collectors."""
        registry = CollectorRegistry()
        directory = multiprocess_dir()
        if directory is not None:
            MultiProcessCollector(registry, path=directory)
        else:
            registry.register(self.registry)
        for collector in own:
            registry.register(collector)
        return registry

    def render(self, registry: CollectorRegistry | None = None) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        return generate_latest(registry or self.registry_for()).decode()

    def dump(self, path: Path | None) -> Path | None:
        """Write the figures to ``path`` (METRICS_FILE: for benchmarks, and for polling mode,
        which serves no /metrics); the path written, or None without one."""
        if path is None:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), self.registry_for())
        return path


# One per process: the counters are about this process's work (see the module doc).
METRICS = Metrics()
