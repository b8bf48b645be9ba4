"""The production compose file, read as Compose reads it (no Docker engine here): the shape the
README describes, settings every container's service accepts, and pins kept in step."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
# What an operator sets before `docker compose up` (the file refuses to start without them).
OPERATOR = {"NEO4J_PASSWORD": "a-long-secret", "RG_AUTH_SECRET": "s" * 40,
            "RG_WEBHOOK_KEY": "h-sM-LIL51LxgEVo4PhFRMUX-mjQcI5rsKXjFM1ItBc="}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` against ``env``."""

    def value(m: re.Match[str]) -> str:
        name, rest = m.group(1), m.group(0)[len(m.group(1)) + 2 : -1]
        if name in env:
            return env[name]
        if rest.startswith((":-", "-")):
            return rest.split("-", 1)[1]
        raise KeyError(f"{name} is required: {rest}")

    return INTERPOLATION.sub(value, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    text = (ROOT / "docker-compose.yml").read_text()
    return yaml.safe_load(interpolate(text, OPERATOR))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def test_the_file_refuses_to_start_without_the_operators_secrets() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in OPERATOR:
        with pytest.raises(KeyError, match=name):
            interpolate(text, {k: v for k, v in OPERATOR.items() if k != name})


def test_the_production_shape_replicas_behind_one_address_neo4j_and_spark(compose) -> None:
    services = compose["services"]
    assert {"neo4j", "service", "proxy", "batch", "spark-master", "spark-worker"} <= set(services)
    assert services["service"]["deploy"]["replicas"] >= 2
    assert services["neo4j"]["image"].startswith("neo4j:5.")
    # Only the proxy publishes the API; the replicas are reached through it.
    assert "ports" not in services["service"]
    assert any(str(p).endswith(":8000") for p in services["proxy"]["ports"])
    assert services["service"]["depends_on"]["neo4j"]["condition"] == "service_healthy"


def test_every_service_process_accepts_its_settings(compose) -> None:
    for name in ("service", "batch"):
        env = environment(compose["services"][name])
        settings = load_settings(env)
        assert settings.neo4j_uri == "neo4j://neo4j:7687"  # the routing driver
    # A mistyped setting is refused at start-up, as the containers would be.
    with pytest.raises(SettingsError):
        load_settings({**environment(compose["services"]["service"]),
                       "RG_RATE_LIMIT_SCOPE": "everywhere"})


def test_the_replicas_share_rate_limits_through_the_store_and_trust_only_the_proxy(compose):
    services = compose["services"]
    settings = load_settings(environment(services["service"]))
    assert settings.rate_limit_scope == "store"
    proxy_ip = ipaddress.ip_address(services["proxy"]["networks"]["backend"]["ipv4_address"])
    assert [proxy_ip in n for n in settings.trusted_proxies] == [True]
    subnet = ipaddress.ip_network(compose["networks"]["backend"]["ipam"]["config"][0]["subnet"])
    assert proxy_ip in subnet
    # The replicas leave whole-graph work to the batch service.
    assert settings.analytics_refresh_after == 0


def test_the_batch_runs_on_the_spark_cluster_with_a_shared_staging_volume(compose) -> None:
    services = compose["services"]
    batch = services["batch"]
    env = environment(batch)
    assert env["RG_SPARK_MASTER"] == "spark://spark-master:7077"
    assert env["RG_ANALYTICS_ENGINE"] == "spark"
    assert "analytics refresh" in " ".join(batch["command"])
    staging = env["RG_SPARK_STAGING"]
    for name in ("batch", "spark-worker"):
        mounts = {m.split(":")[1]: m.split(":")[0] for m in services[name]["volumes"]}
        assert mounts.get(staging) == "spark-staging", name
    assert "spark-staging" in compose["volumes"]
    assert "spark://spark-master:7077" in services["spark-worker"]["command"]
    assert services["spark-master"]["command"][:2] == ["spark-class",
                                                       "org.apache.spark.deploy.master.Master"]


def test_the_cluster_runs_the_batch_image_with_the_pinned_pyspark(compose) -> None:
    """Driver and executors are one Spark version, and the executors' Python has this package:
    the master, the worker and the batch share the image built with the spark extra."""
    services = compose["services"]
    built = [s for s in services.values() if s.get("image") == "referral-graph-spark"
             and "build" in s]
    assert len(built) == 1 and built[0]["build"]["args"]["EXTRAS"] == "spark"
    for name in ("batch", "spark-master", "spark-worker"):
        assert services[name]["image"] == "referral-graph-spark", name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in project["project"]["optional-dependencies"]["spark"]
            if d.startswith("pyspark")]
    assert len(pins) == 1 and "==" in pins[0]


def test_the_proxy_balances_over_the_replicas_and_passes_websockets() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"upstream referral_graph \{\s*server service:8000", conf)
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_buffering off;" in conf
