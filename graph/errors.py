"""Domain errors: expected failures that travel to clients as ``UserError`` payload entries."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    DUPLICATE = "DUPLICATE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    SELF_REFERRAL = "SELF_REFERRAL"
    FORBIDDEN = "FORBIDDEN"


class DomainError(Exception):
    """A broken domain rule. Raised before anything is written, or inside the transaction that
    is then rolled back, so a caller that sees one knows the store is unchanged."""

    code: ErrorCode = ErrorCode.VALIDATION

    def __init__(self, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = list(field) if field is not None else None


class ValidationError(DomainError):
    code = ErrorCode.VALIDATION


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Duplicate(DomainError):
    code = ErrorCode.DUPLICATE


class InvalidTransition(DomainError):
    code = ErrorCode.INVALID_TRANSITION


class SelfReferral(DomainError):
    code = ErrorCode.SELF_REFERRAL


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class StoreUnavailable(Exception):
    """The store cannot be reached; the request may succeed later."""
