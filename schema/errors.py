"""Which errors reach clients as they are, and which are masked."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from graph.errors import StoreUnavailable

log = logging.getLogger("referral_graph.errors")

UNAVAILABLE = "UNAVAILABLE"


def _expected(error: GraphQLError) -> bool:
    """Errors we raise on purpose carry a code; GraphQL's own (syntax, validation) carry no
    original exception. Everything else is a fault: logged, and masked for the client."""
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, GraphQLError):
        return "code" in (original.extensions or {})
    if isinstance(original, StoreUnavailable):
        return False
    log.error("unexpected error", exc_info=original)
    return False


class ErrorMasking(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not _expected(e))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error.original_error, StoreUnavailable):
            return GraphQLError(
                "the store is unavailable; try again shortly",
                nodes=error.nodes, source=error.source, positions=error.positions,
                path=error.path, extensions={"code": UNAVAILABLE},
            )
        return GraphQLError(
            "unexpected error", nodes=error.nodes, source=error.source,
            positions=error.positions, path=error.path, extensions={"code": "INTERNAL"},
        )
