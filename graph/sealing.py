"""Webhook secrets, encrypted at rest.

Signing a delivery needs the webhook's secret itself (HMAC), so the store cannot keep a hash of
it the way it would a password: it keeps the secret encrypted with Fernet (AES-128-CBC and
HMAC-SHA256, from ``cryptography``) under a key that lives outside the store
(``RG_WEBHOOK_KEY``). A copy of the store, a backup or an export, then holds nothing that signs.

Several keys may be given, the first one encrypting and every one decrypting, so that a key can
be rotated: add the new key in front, and secrets sealed under the old one still open.

>>> box = SecretBox([Fernet.generate_key().decode()])
>>> sealed = box.seal("whsec_abc")
>>> sealed != "whsec_abc" and box.open(sealed) == "whsec_abc"
True
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# A Fernet key: 32 bytes in URL-safe base64, 44 characters with its padding.
KEY_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}=$")


class SealError(ValueError):
    """A sealed secret that none of the keys opens (another key, or a damaged value)."""


def is_key(text: str) -> bool:
    """Whether ``text`` is a Fernet key.

    >>> is_key(Fernet.generate_key().decode()), is_key("not-a-key")
    (True, False)
    """
    return bool(KEY_SHAPE.match(text))


def keys_of(setting: str) -> list[str]:
    """The keys of a setting holding one key or several separated by commas."""
    return [k.strip() for k in setting.split(",") if k.strip()]


def new_key() -> str:
    return Fernet.generate_key().decode()


def new_secret() -> str:
    """A signing secret: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


class SecretBox:
    """Seals and opens webhook secrets with the configured keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a secret box needs a key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, UnicodeError):
            raise SealError("the webhook secret does not open with RG_WEBHOOK_KEY") from None


__all__ = ["SealError", "SecretBox", "is_key", "keys_of", "new_key", "new_secret"]
