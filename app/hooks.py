"""Webhooks as the service configures them: the key that seals their secrets, and the policy
of their deliveries, from the settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.settings import Settings, SettingsError
from graph.delivery import Policy
from graph.sealing import SecretBox, is_key, keys_of, new_key

KEY_FILE = "webhook-key"


def webhook_keys(settings: Settings) -> list[str]:
    """``RG_WEBHOOK_KEY`` (its form is checked with the other settings), or outside production
    a key kept in the data folder (``webhook-key``, made on first use) so that a local service
    keeps opening the secrets it sealed. Every process of one store needs the same key."""
    if settings.webhook_key:
        return keys_of(settings.webhook_key)
    if settings.production:
        raise SettingsError("RG_WEBHOOK_KEY must be set in production: it encrypts webhook "
                            "secrets at rest")
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        _make_key_file(path)
    key = path.read_text().strip()
    if not is_key(key):
        raise SettingsError(f"{path} does not hold a webhook key: remove it to make a new one "
                            f"(secrets sealed with the old one no longer open)")
    return [key]


def _make_key_file(path: Path) -> None:
    """Write a new key to ``path`` unless another process got there first: the key is written
    whole beside it, then linked into place, which fails if ``path`` exists. Two workers
    starting at once thus end with one key, never one each nor a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per attempt (threads share a pid): a partial file linked into place
    # by one maker must never be rewritten by another.
    partial = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(new_key() + "\n")
    try:
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink()


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(webhook_keys(settings))


def delivery_policy(settings: Settings) -> Policy:
    return Policy(retry_base=settings.webhook_retry_base,
                  retry_factor=settings.webhook_retry_factor,
                  max_attempts=settings.webhook_max_attempts, timeout=settings.webhook_timeout,
                  allow_private=settings.webhooks_allow_private)
