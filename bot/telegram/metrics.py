"""Operational counters, exposed in Prometheus' text format on /metrics (webhook mode).

A tiny registry with no dependency: counters, one gauge callback and one latency histogram.
Values are process-wide; each process behind a load balancer reports its own.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from pathlib import Path

# Seconds; an update's handling time falls in the first bucket at or above it.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, float] = {
            "finlit_updates_handled_total": 0,
            "finlit_handler_errors_total": 0,
            "finlit_send_retries_total": 0,
            "finlit_flood_waits_total": 0,
            "finlit_sends_total": 0,
            "finlit_webhook_rejected_total": 0,
            # Message economy (bot/telegram/delivery.py, dispatch.py, handlers.py).
            "finlit_edits_coalesced_total": 0,
            "finlit_edits_unchanged_total": 0,
            "finlit_updates_collapsed_total": 0,
            "finlit_press_toasts_total": 0,
            "finlit_updates_forged_total": 0,
            "finlit_broadcast_errors_total": 0,
        }
        self._buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0
        self._latency_count = 0
        self.queue_depth: Callable[[], int] = lambda: 0
        # Where a clean stop writes the figures (METRICS_FILE): for benchmarks and for polling
        # mode, which serves no /metrics.
        self.dump_to: Path | None = None

    def inc(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + amount

    def observe_latency(self, seconds: float) -> None:
        with self._lock:
            self._buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._latency_sum += seconds
            self._latency_count += 1

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        with self._lock:
            lines = []
            for name, value in sorted(self.counters.items()):
                lines += [f"# TYPE {name} counter", f"{name} {value:g}"]
            lines += ["# TYPE finlit_queue_depth gauge", f"finlit_queue_depth {self.queue_depth()}"]
            name = "finlit_update_latency_seconds"
            lines.append(f"# TYPE {name} histogram")
            cumulative = 0
            for bound, count in zip(LATENCY_BUCKETS, self._buckets, strict=False):
                cumulative += count
                lines.append(f'{name}_bucket{{le="{bound:g}"}} {cumulative}')
            lines.append(f'{name}_bucket{{le="+Inf"}} {self._latency_count}')
            lines += [f"{name}_sum {self._latency_sum:g}", f"{name}_count {self._latency_count}"]
            return "\n".join(lines) + "\n"

    def dump(self) -> Path | None:
        """Write the figures to ``dump_to`` (if set); the path written."""
        if self.dump_to is None:
            return None
        self.dump_to.parent.mkdir(parents=True, exist_ok=True)
        self.dump_to.write_text(self.render())
        return self.dump_to


# One registry per process: counters are about this process's work.
METRICS = Metrics()
