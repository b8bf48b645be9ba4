"""Settings, read from the environment once at start-up.

Nothing else in the project reads ``os.environ``: the frozen :class:`Settings` is passed down.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from graph.analytics import ENGINES, AnalyticsEngine
from graph.sealing import is_key, keys_of

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    rate_limit_address: int = 3000
    rate_burst_address: int = 300
    trusted_proxies: tuple[IPNetwork, ...] = ()
    auth_max_ttl: int = 24 * 3600
    store_timeout: float = 3.0
    store_batch_timeout: float = 600.0
    analytics_refresh_after: int = 1000
    analytics_min_interval: float = 600.0
    metrics_token: str | None = None
    max_cost: int = 25_000
    max_body_bytes: int = 1_048_576
    max_document_chars: int = 50_000
    analytics_timeout: float = 300.0
    workers: int = 0
    risk_review_threshold: float = 0.5
    # "host": rate limits per serve (its workers share them); "store": across every instance.
    rate_limit_scope: str = "host"
    rate_limit_sync: float = 1.0
    # Events (graph.events, graph.sweep) and webhooks (graph.webhooks).
    event_poll: float = 0.25
    reminder_days: float = 7.0
    referral_ttl_days: float = 90.0
    event_sweep_interval: float = 3600.0
    # Subscriptions over WebSocket (app.graphql_ws).
    ws_init_timeout: float = 10.0
    ws_max_subscriptions: int = 10
    subscription_backlog: int = 1000
    webhook_retry_base: float = 30.0
    webhook_retry_factor: float = 2.0
    webhook_max_attempts: int = 8
    webhook_timeout: float = 10.0
    webhooks_allow_private: bool = False
    webhook_key: str | None = None
    # The engine of the analytics refresh (graph.analytics.AnalyticsEngine).
    analytics_engine: str = "networkx"
    spark_master: str = "local[*]"
    # None: a ``staging`` folder under data_dir.
    spark_staging: str | None = None
    # Partitions of the Spark jobs' joins and aggregations (spark.sql.shuffle.partitions): a
    # few for local[...], about two or three per executor core on a cluster.
    spark_shuffle_partitions: int = 4

    @property
    def engine(self) -> AnalyticsEngine:
        """The analytics engine these settings choose, as the refresh takes it."""
        staging = self.spark_staging or str(Path(self.data_dir) / "staging")
        return AnalyticsEngine(self.analytics_engine, self.spark_master, staging,
                               shuffle_partitions=self.spark_shuffle_partitions)

    @property
    def embedded(self) -> bool:
        """True when the service runs its own embedded Bolt server."""
        return self.neo4j_uri is None

    @property
    def production(self) -> bool:
        return self.env == "production"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with command-line overrides applied (``None`` values are ignored), checked
        like the environment is."""
        return validate(replace(self, **{k: v for k, v in changes.items() if v is not None}))


ENVIRONMENTS = ("development", "production")
RATE_LIMIT_SCOPES = ("host", "store")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DAY = 24 * 3600
# The accepted range of each numeric setting, inclusive; a low bound of 0 with ``positive`` set
# means "more than 0" (a timeout of 0 would time out everything). A number not listed here must
# still be finite and not negative.
RANGES: dict[str, tuple[float, float, bool]] = {
    "port": (1, 65535, False),
    "max_depth": (1, 1000, False),
    "max_aliases": (1, 10_000, False),
    "max_first": (1, 10_000, False),
    "max_hops": (1, 20, False),
    "max_limit": (1, 1000, False),
    "max_tokens": (1, 1_000_000, False),
    "request_timeout": (0, DAY, True),
    "rate_limit": (1, 10_000_000, False),
    "rate_burst": (1, 10_000_000, False),
    "rate_limit_address": (1, 10_000_000, False),
    "rate_burst_address": (1, 10_000_000, False),
    "auth_max_ttl": (60, 365 * DAY, False),
    "store_timeout": (0, 600, True),
    "store_batch_timeout": (0, 7 * DAY, True),
    "analytics_refresh_after": (0, 1_000_000_000, False),
    "analytics_min_interval": (0, 365 * DAY, False),
    "analytics_timeout": (0, 7 * DAY, True),
    "max_cost": (1, 10**12, False),
    "max_body_bytes": (1, 1 << 30, False),
    "max_document_chars": (1, 10**8, False),
    "workers": (0, 256, False),
    "risk_review_threshold": (0, 1, True),
    "rate_limit_sync": (0, 60, True),
    "event_poll": (0, 60, True),
    "reminder_days": (0, 3650, True),
    "referral_ttl_days": (0, 3650, True),
    "event_sweep_interval": (0, 7 * DAY, False),
    "ws_init_timeout": (0, 600, True),
    "ws_max_subscriptions": (1, 1000, False),
    "subscription_backlog": (1, 1_000_000, False),
    "webhook_retry_base": (0, DAY, True),
    "webhook_retry_factor": (1, 100, False),
    "spark_shuffle_partitions": (1, 100_000, False),
    "webhook_max_attempts": (1, 100, False),
    "webhook_timeout": (0, 600, True),
}
MIN_SECRET = 32  # bytes; RFC 7518 asks HS256 keys to be at least as long as the hash
# A scrape token is a shared secret sent by the scraper: long enough not to be guessed.
MIN_METRICS_TOKEN = 16  # characters
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def variable(name: str) -> str:
    """The environment variable behind a Settings field."""
    return name.upper() if name.startswith("neo4j_") else f"RG_{name.upper()}"


def _num(x: float) -> str:
    return str(int(x)) if math.isfinite(x) and x == int(x) else repr(x)


def validate(settings: Settings) -> Settings:
    """``settings`` if every value is usable; a SettingsError naming the first variable that is
    not. Run at start-up, so that a bad value stops the service with one clear line instead of
    failing later (a negative timeout would otherwise time out every request)."""
    for f in fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        low, high, positive = RANGES.get(f.name, (0, math.inf, False))
        above_low = low < value if positive else low <= value
        if math.isfinite(value) and above_low and value <= high:
            continue
        lower = f"more than {_num(low)}" if positive else f"at least {_num(low)}"
        upper = "" if high == math.inf else f" and at most {_num(high)}"
        raise SettingsError(f"{variable(f.name)} must be {lower}{upper}, got {_num(value)}")
    if settings.store_timeout >= settings.request_timeout:
        # Otherwise a store that does not answer makes requests time out (TIMEOUT, after the
        # whole request time) instead of failing as UNAVAILABLE when the store's budget ends.
        raise SettingsError(f"RG_STORE_TIMEOUT must be less than RG_REQUEST_TIMEOUT, got "
                            f"{_num(settings.store_timeout)} and "
                            f"{_num(settings.request_timeout)}")
    for network in settings.trusted_proxies:
        if network.prefixlen == 0:
            # Trusting every peer as a proxy lets any client write its own X-Forwarded-For
            # and so pick the address it is rate-limited as.
            raise SettingsError(f"RG_TRUSTED_PROXIES must name proxies, not every address, "
                                f"got {network}")
    if settings.env not in ENVIRONMENTS:
        raise SettingsError(f"RG_ENV must be one of {', '.join(ENVIRONMENTS)}, "
                            f"got {settings.env!r}")
    if settings.rate_limit_scope not in RATE_LIMIT_SCOPES:
        raise SettingsError(f"RG_RATE_LIMIT_SCOPE must be one of {', '.join(RATE_LIMIT_SCOPES)}, "
                            f"got {settings.rate_limit_scope!r}")
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError(f"RG_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                            f"got {settings.log_level!r}")
    if settings.analytics_engine not in ENGINES:
        raise SettingsError(f"RG_ANALYTICS_ENGINE must be one of {', '.join(ENGINES)}, "
                            f"got {settings.analytics_engine!r}")
    master = settings.spark_master
    if not (master == "local" or (master.startswith("local[") and master.endswith("]"))
            or (master.startswith(("spark://", "sc://")) and master.partition("://")[2])):
        raise SettingsError(f"RG_SPARK_MASTER must be local, local[...], spark://host:port or "
                            f"sc://host:port, got {master!r}")
    if settings.spark_staging is not None and not settings.spark_staging.strip():
        raise SettingsError("RG_SPARK_STAGING must not be blank")
    if not settings.host:
        raise SettingsError("RG_HOST must not be empty")
    if settings.neo4j_uri is not None:
        scheme = settings.neo4j_uri.partition("://")[0]
        if scheme not in BOLT_SCHEMES or "://" not in settings.neo4j_uri:
            raise SettingsError(f"NEO4J_URI must start with one of "
                                f"{', '.join(s + '://' for s in BOLT_SCHEMES)}, "
                                f"got {settings.neo4j_uri!r}")
    if settings.auth_secret is not None and len(settings.auth_secret.encode()) < MIN_SECRET:
        raise SettingsError(f"RG_AUTH_SECRET must be at least {MIN_SECRET} bytes long")
    if settings.metrics_token is not None and len(settings.metrics_token) < MIN_METRICS_TOKEN:
        raise SettingsError(f"RG_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters")
    if settings.auth_jwks_url is not None and not settings.auth_jwks_url.startswith(
        ("https://", "http://")
    ):
        raise SettingsError(f"RG_AUTH_JWKS_URL must be an http(s) URL, "
                            f"got {settings.auth_jwks_url!r}")
    if settings.webhook_key is not None:
        keys = keys_of(settings.webhook_key)
        if not keys or not all(is_key(k) for k in keys):
            # The key itself is never echoed: a near-miss is still most of a secret.
            raise SettingsError(
                "RG_WEBHOOK_KEY must be a Fernet key (32 bytes in URL-safe base64, 44 "
                "characters; make one with `python -c \"from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())\"`), or several separated by "
                "commas, the first encrypting")
    return settings


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
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):  # float() reads "nan" and "inf" too
        raise SettingsError(f"{name} must be a finite number, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    """A comma-separated list of IP addresses and CIDR blocks."""
    found = []
    for item in (part.strip() for part in env.get(name, "").split(",")):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name} must list IP addresses or CIDR blocks, got {item!r}"
            ) from None
    return tuple(found)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    return validate(Settings(
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
        rate_limit_address=_int(env, "RG_RATE_LIMIT_ADDRESS", 3000),
        rate_burst_address=_int(env, "RG_RATE_BURST_ADDRESS", 300),
        trusted_proxies=_networks(env, "RG_TRUSTED_PROXIES"),
        auth_max_ttl=_int(env, "RG_AUTH_MAX_TTL", 24 * 3600),
        store_timeout=_float(env, "RG_STORE_TIMEOUT", 3.0),
        store_batch_timeout=_float(env, "RG_STORE_BATCH_TIMEOUT", 600.0),
        metrics_token=env.get("RG_METRICS_TOKEN") or None,
        max_cost=_int(env, "RG_MAX_COST", 25_000),
        max_body_bytes=_int(env, "RG_MAX_BODY_BYTES", 1_048_576),
        max_document_chars=_int(env, "RG_MAX_DOCUMENT_CHARS", 50_000),
        analytics_timeout=_float(env, "RG_ANALYTICS_TIMEOUT", 300.0),
        workers=_int(env, "RG_WORKERS", 0),
        risk_review_threshold=_float(env, "RG_RISK_REVIEW_THRESHOLD", 0.5),
        rate_limit_scope=env.get("RG_RATE_LIMIT_SCOPE", "host"),
        rate_limit_sync=_float(env, "RG_RATE_LIMIT_SYNC", 1.0),
        event_poll=_float(env, "RG_EVENT_POLL", 0.25),
        reminder_days=_float(env, "RG_REMINDER_DAYS", 7.0),
        referral_ttl_days=_float(env, "RG_REFERRAL_TTL_DAYS", 90.0),
        event_sweep_interval=_float(env, "RG_EVENT_SWEEP_INTERVAL", 3600.0),
        ws_init_timeout=_float(env, "RG_WS_INIT_TIMEOUT", 10.0),
        ws_max_subscriptions=_int(env, "RG_WS_MAX_SUBSCRIPTIONS", 10),
        subscription_backlog=_int(env, "RG_SUBSCRIPTION_BACKLOG", 1000),
        webhook_retry_base=_float(env, "RG_WEBHOOK_RETRY_BASE", 30.0),
        webhook_retry_factor=_float(env, "RG_WEBHOOK_RETRY_FACTOR", 2.0),
        webhook_max_attempts=_int(env, "RG_WEBHOOK_MAX_ATTEMPTS", 8),
        webhook_timeout=_float(env, "RG_WEBHOOK_TIMEOUT", 10.0),
        webhooks_allow_private=_bool(env, "RG_WEBHOOKS_ALLOW_PRIVATE", False),
        webhook_key=env.get("RG_WEBHOOK_KEY") or None,
        analytics_engine=env.get("RG_ANALYTICS_ENGINE", "networkx"),
        spark_master=env.get("RG_SPARK_MASTER", "local[*]"),
        spark_staging=env.get("RG_SPARK_STAGING") or None,
        spark_shuffle_partitions=_int(env, "RG_SPARK_SHUFFLE_PARTITIONS", 4),
    ))
