"""Settings are checked at start-up: a value the service cannot use stops it with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from ipaddress import ip_network
from pathlib import Path

import pytest

from app.settings import Settings, SettingsError, load_settings

BAD = [
    ("RG_REQUEST_TIMEOUT", "-5"),
    ("RG_REQUEST_TIMEOUT", "0"),
    ("RG_REQUEST_TIMEOUT", "nan"),
    ("RG_STORE_TIMEOUT", "inf"),
    ("RG_STORE_TIMEOUT", "0"),
    ("RG_STORE_BATCH_TIMEOUT", "-1"),
    ("RG_PORT", "0"),
    ("RG_PORT", "65536"),
    ("RG_PORT", "eighty"),
    ("RG_MAX_DEPTH", "0"),
    ("RG_MAX_ALIASES", "-1"),
    ("RG_MAX_FIRST", "0"),
    ("RG_MAX_HOPS", "0"),
    ("RG_MAX_LIMIT", "0"),
    ("RG_MAX_TOKENS", "0"),
    ("RG_RATE_LIMIT", "0"),
    ("RG_RATE_BURST", "0"),
    ("RG_RATE_LIMIT_ADDRESS", "0"),
    ("RG_RATE_BURST_ADDRESS", "-3"),
    ("RG_AUTH_MAX_TTL", "0"),
    ("RG_ANALYTICS_REFRESH_AFTER", "-1"),
    ("RG_ANALYTICS_MIN_INTERVAL", "-600"),
    ("RG_ENV", "prod"),
    ("RG_LOG_LEVEL", "LOUD"),
    ("RG_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local"),
    ("RG_TRUSTED_PROXIES", "10.0.0.300"),
    ("RG_TRUSTED_PROXIES", "0.0.0.0/0"),
    ("RG_TRUSTED_PROXIES", "10.0.0.1, ::/0"),
    ("RG_TRUSTED_PROXIES", "192.0.2.7/0"),
    ("RG_AUTH_SECRET", "short"),
    ("RG_AUTH_JWKS_URL", "file:///etc/keys"),
    ("NEO4J_URI", "http://db:7474"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_value_is_refused_naming_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_good_values_are_accepted():
    s = load_settings({
        "RG_REQUEST_TIMEOUT": "5.5", "RG_PORT": "65535", "RG_ANALYTICS_REFRESH_AFTER": "0",
        "RG_ANALYTICS_MIN_INTERVAL": "0", "RG_ENV": "production", "RG_LOG_LEVEL": "debug",
        "RG_TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1 ,::1", "RG_STORE_TIMEOUT": "2.5",
        "RG_AUTH_MAX_TTL": "3600", "NEO4J_URI": "neo4j+s://db.example:7687",
    })
    assert (s.request_timeout, s.port, s.env, s.log_level) == (5.5, 65535, "production", "DEBUG")
    assert s.trusted_proxies == (ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32"),
                                 ip_network("::1/128"))
    assert (s.store_timeout, s.auth_max_ttl) == (2.5, 3600)
    assert load_settings({}) == Settings()


def test_the_store_timeout_must_be_shorter_than_the_request_timeout():
    # A frozen store must answer UNAVAILABLE when its budget ends, before the request times out.
    for store, request in (("10", "10"), ("12", "10"), ("3", "2")):
        with pytest.raises(SettingsError, match="RG_STORE_TIMEOUT must be less than "
                                                "RG_REQUEST_TIMEOUT"):
            load_settings({"RG_STORE_TIMEOUT": store, "RG_REQUEST_TIMEOUT": request})
    with pytest.raises(SettingsError, match="RG_STORE_TIMEOUT"):
        Settings().with_overrides(request_timeout=3)
    fine = load_settings({"RG_STORE_TIMEOUT": "9.5", "RG_REQUEST_TIMEOUT": "10"})
    assert (fine.store_timeout, fine.request_timeout) == (9.5, 10)


def test_command_line_overrides_are_checked_too():
    with pytest.raises(SettingsError, match="RG_PORT"):
        Settings().with_overrides(port=0)


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "RG_"))}
    clean["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_serve_with_a_bad_setting_exits_with_one_clear_line(tmp_path):
    done = run_cli("serve", "--data-dir", str(tmp_path), RG_REQUEST_TIMEOUT="-5")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "referral-graph: RG_REQUEST_TIMEOUT must be more than 0 and at most 86400, got -5"
    ]
    assert not (tmp_path / "arcadedb").exists()  # no store was started
    done = run_cli("serve", "--data-dir", str(tmp_path), "--port", "70000")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("referral-graph: RG_PORT must be")
    assert "Traceback" not in done.stderr
