"""Settings, read from the environment once at start-up.

Nothing else in the project reads ``os.environ``: the frozen :class:`Settings` is passed down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T", int, float)


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    env: str = "development"
    log_level: str = "INFO"
    max_depth: int = 15
    max_aliases: int = 50
    max_first: int = 100
    max_hops: int = 6
    max_limit: int = 50
    request_timeout: float = 10.0
    max_tokens: int = 2000
    auth_secret: str | None = None
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    rate_limit: int = 1200
    rate_burst: int = 100
    analytics_refresh_after: int = 1000
    analytics_min_interval: float = 600.0
    max_cost: int = 25_000
    max_body_bytes: int = 1_048_576
    max_document_chars: int = 50_000
    analytics_timeout: float = 300.0

    @property
    def embedded(self) -> bool:
        """True when the service runs its own embedded Bolt server."""
        return self.neo4j_uri is None

    @property
    def production(self) -> bool:
        return self.env == "production"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with command-line overrides applied (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _positive(value: T, name: str) -> T:
    if not value > 0:
        raise SettingsError(f"{name} must be greater than 0, got {value}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    return Settings(
        neo4j_uri=env.get("NEO4J_URI") or None,
        neo4j_user=env.get("NEO4J_USER", "neo4j"),
        neo4j_password=env.get("NEO4J_PASSWORD", ""),
        neo4j_database=env.get("NEO4J_DATABASE", "neo4j"),
        data_dir=Path(env.get("RG_DATA_DIR", "data")),
        host=env.get("RG_HOST", "127.0.0.1"),
        port=_int(env, "RG_PORT", 8000),
        env=env.get("RG_ENV", "development"),
        log_level=env.get("RG_LOG_LEVEL", "INFO").upper(),
        max_depth=_int(env, "RG_MAX_DEPTH", 15),
        max_aliases=_int(env, "RG_MAX_ALIASES", 50),
        max_first=_int(env, "RG_MAX_FIRST", 100),
        max_hops=_int(env, "RG_MAX_HOPS", 6),
        max_limit=_int(env, "RG_MAX_LIMIT", 50),
        request_timeout=_float(env, "RG_REQUEST_TIMEOUT", 10.0),
        max_tokens=_int(env, "RG_MAX_TOKENS", 2000),
        auth_secret=env.get("RG_AUTH_SECRET") or None,
        auth_jwks_url=env.get("RG_AUTH_JWKS_URL") or None,
        auth_issuer=env.get("RG_AUTH_ISSUER") or None,
        auth_audience=env.get("RG_AUTH_AUDIENCE") or None,
        rate_limit=_int(env, "RG_RATE_LIMIT", 1200),
        rate_burst=_int(env, "RG_RATE_BURST", 100),
        analytics_refresh_after=_int(env, "RG_ANALYTICS_REFRESH_AFTER", 1000),
        analytics_min_interval=_float(env, "RG_ANALYTICS_MIN_INTERVAL", 600.0),
        max_cost=_positive(_int(env, "RG_MAX_COST", 25_000), "RG_MAX_COST"),
        max_body_bytes=_positive(_int(env, "RG_MAX_BODY_BYTES", 1_048_576), "RG_MAX_BODY_BYTES"),
        max_document_chars=_positive(_int(env, "RG_MAX_DOCUMENT_CHARS", 50_000),
                                     "RG_MAX_DOCUMENT_CHARS"),
        analytics_timeout=_positive(_float(env, "RG_ANALYTICS_TIMEOUT", 300.0),
                                    "RG_ANALYTICS_TIMEOUT"),
    )
