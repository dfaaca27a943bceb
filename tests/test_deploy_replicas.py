"""deploy/docker-compose.replicas.yml, read as Compose would (Docker is not run here).

PostgreSQL with a volume and a healthcheck, replicas that wait for it to be healthy and share
one configuration (the same WEBHOOK_SECRET, DATABASE_URL on the db service, one metrics
directory), and Caddy spreading the webhook over every replica.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.settings import Settings
from tests.security.test_shutdown import stop_budget

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
COMPOSE = DEPLOY / "docker-compose.replicas.yml"
# Compose's ${NAME:?message} and ${NAME}: what the operator's deploy/.env fills in.
VARIABLE = re.compile(r"\$\{([A-Z_]+)(?::\?[^}]*)?\}")
OPERATOR = {
    "POSTGRES_PASSWORD": "pg-password_0123456789",
    "FINLIT_DOMAIN": "bot.example.org",
    "WEBHOOK_SECRET": "replicas-share-this-secret_0123456789",
}


def interpolate(value: Any) -> Any:
    """The compose file's values with the operator's variables filled in, as Compose does."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: OPERATOR[m.group(1)], value)
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # merges the <<: anchors
    assert isinstance(loaded, dict)
    interpolated: dict[str, Any] = interpolate(loaded)
    return interpolated


def replicas(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if s.get("image") == "finlit:latest"}


def test_every_variable_is_required_with_a_message() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert used == set(OPERATOR)
    assert re.findall(r"\$\{[A-Z_]+\}", text) == []  # none silently empty when unset


def test_postgres_keeps_its_data_in_a_volume_and_says_when_it_is_ready() -> None:
    loaded = compose()
    db = loaded["services"]["db"]
    assert db["image"].startswith("postgres:")
    (volume,) = db["volumes"]
    name, path = volume.split(":")
    assert path == "/var/lib/postgresql/data" and name in loaded["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "ports" not in db  # only the replicas reach it


def test_two_replicas_share_one_configuration_and_wait_for_a_healthy_database() -> None:
    loaded = compose()
    services = loaded["services"]
    finlits = replicas(services)
    assert len(finlits) == 2
    environments = [s["environment"] for s in finlits.values()]
    assert environments[0] == environments[1]
    env = environments[0]
    assert env["WEBHOOK_SECRET"] == OPERATOR["WEBHOOK_SECRET"]
    url = make_url(env["DATABASE_URL"])
    assert url.drivername == "postgresql+asyncpg" and url.host == "db"
    assert url.password == OPERATOR["POSTGRES_PASSWORD"]
    assert (url.username, url.database) == (
        services["db"]["environment"]["POSTGRES_USER"],
        services["db"]["environment"]["POSTGRES_DB"],
    )
    metrics = env["PROMETHEUS_MULTIPROC_DIR"]
    for service in finlits.values():
        assert service["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert f"finlit-metrics:{metrics}" in service["volumes"]
        assert stop_budget() + 5 <= int(service["stop_grace_period"].removesuffix("s"))
    assert loaded["volumes"]["finlit-metrics"]["driver_opts"]["type"] == "tmpfs"
    # Each replica's settings pass finlit's own validation (the metrics directory aside).
    settings = Settings(
        _env_file=None,
        **{k.lower(): v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
    )
    assert settings.shared_database and settings.webhook_secret is not None
    ports = [p for s in finlits.values() for p in s["ports"]]
    assert all(p.startswith("127.0.0.1:") for p in ports) and len(set(ports)) == len(ports)


def test_caddy_spreads_the_webhook_over_every_replica() -> None:
    loaded = compose()
    caddy = loaded["services"]["caddy"]
    finlits = replicas(loaded["services"])
    assert set(caddy["depends_on"]) == set(finlits)
    (mount,) = [v for v in caddy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro")]
    caddyfile = (DEPLOY / mount.split(":")[0]).read_text(encoding="utf-8")
    (upstreams,) = re.findall(r"^\s*reverse_proxy (.+) \{$", caddyfile, flags=re.MULTILINE)
    port = next(iter(finlits.values()))["environment"]["PORT"]
    assert sorted(upstreams.split()) == sorted(f"{name}:{port}" for name in finlits)
    assert "lb_policy round_robin" in caddyfile
    assert "health_uri /healthz" in caddyfile


def test_the_image_can_talk_to_postgresql() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert 'pip install --no-cache-dir ".[postgres]"' in dockerfile
