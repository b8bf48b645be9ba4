"""Global ids: a type prefix and a time-ordered random part.

Generated ids sort by creation time (48-bit milliseconds, then 80 random bits, in Crockford
base32), which keeps id-ordered pages in insertion order. Clients may bring their own id for
idempotent retries and imports, with the right prefix.

>>> kind_of("pro_01JAB")
'Professional'
>>> new_id("ref").startswith("ref_")
True
>>> kind_of("abc") is None
True
"""

from __future__ import annotations

import re
import secrets
import time

from graph.errors import ValidationError

PREFIXES = {
    "pro": "Professional",
    "cus": "Customer",
    "job": "Job",
    "ref": "Referral",
    "net": "Network",
    "rpg": "RewardProgram",
    "rwd": "Reward",
    "whk": "Webhook",
}
LABEL_PREFIX = {label: prefix for prefix, label in PREFIXES.items()}
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"


def kind_of(node_id: str) -> str | None:
    """The label an id names by its prefix, or None."""
    prefix, sep, suffix = node_id.partition("_")
    if not sep or not _SUFFIX.match(suffix):
        return None
    return PREFIXES.get(prefix)


def check_id(node_id: str, label: str, field: list[str]) -> str:
    """``node_id`` if it is a well-formed id of ``label``; a ValidationError otherwise."""
    if kind_of(node_id) != label:
        prefix = LABEL_PREFIX[label]
        raise ValidationError(
            f"{node_id!r} is not a {label} id (expected {prefix}_ followed by 1 to 64 "
            "letters, digits, '_' or '-')",
            field,
        )
    return node_id


def client_or_new_id(node_id: str | None, label: str, field: list[str]) -> str:
    if node_id is None:
        return new_id(LABEL_PREFIX[label])
    return check_id(node_id, label, field)
