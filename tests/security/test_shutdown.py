"""A stop fits in the time the service manager gives it: every budget of a graceful stop, added
up, stays under 25 s, and systemd and Docker wait at least 5 s longer before SIGKILL."""

from __future__ import annotations

import re
from pathlib import Path

from bot import app
from bot.telegram import broadcast, webhook

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def stop_budget() -> float:
    """The longest a graceful stop can take: requests in flight (webhook mode), the broadcast
    worker, the updates already accepted, then the replies they queued, one after another."""
    return (
        webhook.GRACEFUL_SECONDS
        + broadcast.STOP_SECONDS
        + app.STOP_HANDLING_SECONDS
        + app.STOP_SENDING_SECONDS
    )


def test_a_graceful_stop_takes_at_most_25_seconds() -> None:
    assert stop_budget() <= 25


def test_systemd_waits_longer_than_a_graceful_stop() -> None:
    unit = (DEPLOY / "finlit.service").read_text(encoding="utf-8")
    (timeout,) = re.findall(r"^TimeoutStopSec=(\d+)$", unit, flags=re.MULTILINE)
    assert stop_budget() + 5 <= int(timeout)


def test_docker_waits_longer_than_a_graceful_stop() -> None:
    compose = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    (grace,) = re.findall(r"^\s+stop_grace_period: (\d+)s$", compose, flags=re.MULTILINE)
    assert stop_budget() + 5 <= int(grace)
