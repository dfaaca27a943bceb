"""/metrics with prometheus_client: every counter declared once, the exposition dashboards read,
a registry per application, METRICS_FILE, and multiprocess mode for replicas."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from bot.settings import Settings
from bot.telegram.metrics import (
    COUNTERS,
    LATENCY_BUCKETS,
    METRICS,
    CounterName,
    Metrics,
    QueueDepth,
)

REPO = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[str, float]:
    """Unlabelled samples by name, histogram buckets by ``name{le}``."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name + (f"{{{sample.labels['le']}}}" if "le" in sample.labels else "")
            found[key] = sample.value
    return found


def test_every_counter_is_declared_once_with_a_help_text() -> None:
    assert sorted(COUNTERS) == sorted(get_args(CounterName))
    assert all(text.strip() for text in COUNTERS.values())
    assert set(METRICS.counters) == set(COUNTERS)


def test_an_unknown_counter_fails_loudly() -> None:
    metrics = Metrics()
    with pytest.raises(KeyError, match="finlit_typo_total"):
        # Not a CounterName: mypy refuses this call in bot/; at run time it fails just as loudly.
        metrics.inc("finlit_typo_total")  # type: ignore[arg-type]


def test_the_exposition_keeps_the_names_and_adds_no_created_series() -> None:
    metrics = Metrics()
    metrics.inc("finlit_sends_total", 3)
    metrics.observe_latency(0.3)
    metrics.observe_latency(20.0)
    text = metrics.render(metrics.registry_for(QueueDepth(lambda: 4)))
    found = samples(text)
    assert found["finlit_sends_total"] == 3
    assert found["finlit_queue_depth"] == 4
    bounds = {float(key[key.index("{") + 1 : -1]) for key in found if "_bucket{" in key}
    assert bounds == {*LATENCY_BUCKETS, float("inf")}
    assert found["finlit_update_latency_seconds_bucket{0.5}"] == 1
    assert found["finlit_update_latency_seconds_bucket{+Inf}"] == 2
    assert found["finlit_update_latency_seconds_count"] == 2
    assert found["finlit_update_latency_seconds_sum"] == pytest.approx(20.3)
    for name in COUNTERS:
        assert f"# TYPE {name} counter" in text
    assert "_created" not in text


def test_two_applications_in_one_process_do_not_collide() -> None:
    """Each application's /metrics has its own queue depth over the process's counters."""
    metrics = Metrics()
    first = metrics.registry_for(QueueDepth(lambda: 1))
    second = metrics.registry_for(QueueDepth(lambda: 2))
    metrics.inc("finlit_sends_total")
    assert samples(metrics.render(first))["finlit_queue_depth"] == 1
    assert samples(metrics.render(second))["finlit_queue_depth"] == 2
    assert samples(metrics.render(first))["finlit_sends_total"] == 1
    assert Metrics().value("finlit_sends_total") == 0  # another Metrics, another registry


def test_a_clean_stop_writes_the_figures_to_metrics_file(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.inc("finlit_flood_waits_total", 2)
    assert metrics.dump(None) is None
    path = tmp_path / "figures" / "bot.prom"
    assert metrics.dump(path) == path
    assert samples(path.read_text())["finlit_flood_waits_total"] == 2


async def test_multiprocess_mode_sums_every_process(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, /metrics from any replica counts all of them."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "PYTHONPATH": str(REPO)}
    count = (
        "from bot.telegram.metrics import METRICS\n"
        "METRICS.inc('finlit_sends_total', 3)\n"
        "METRICS.observe_latency(0.02)\n"
    )
    scrape = "from bot.telegram.metrics import METRICS, QueueDepth\n" + (
        "print(METRICS.render(METRICS.registry_for(QueueDepth(lambda: 5))))"
    )

    def run(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    for _ in range(2):
        await asyncio.to_thread(run, count)
    found = samples(await asyncio.to_thread(run, scrape))
    assert found["finlit_sends_total"] == 6
    assert found["finlit_update_latency_seconds_count"] == 2
    assert found["finlit_queue_depth"] == 5  # the answering process's own


def test_the_multiprocess_directory_is_checked_when_settings_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the .env read is this directory's
    shared = tmp_path / "prometheus"
    shared.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    assert Settings().prometheus_multiproc_dir == shared
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match="must be an existing directory"):
        Settings()
    # Only in .env: prometheus_client reads the environment, so it would not see it.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    (tmp_path / ".env").write_text(f"PROMETHEUS_MULTIPROC_DIR={shared}\n")
    with pytest.raises(ValidationError, match="in the environment itself"):
        Settings()
