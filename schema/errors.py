"""Which errors reach clients as they are, and which are masked."""

from __future__ import annotations

import logging

from graphql import GraphQLError, VariableDefinitionNode
from strawberry.extensions import MaskErrors

from graph.errors import StoreUnavailable

log = logging.getLogger("referral_graph.errors")

UNAVAILABLE = "UNAVAILABLE"
# graphql-core's own words when variables cannot be coerced at all (no variable to point at).
VARIABLE_MESSAGES = (
    "Variable values are nested too deeply.",
    "Too many errors processing variables, error limit reached. Execution aborted.",
)


def variable_error(error: GraphQLError) -> bool:
    """A variable that the parser could not coerce (missing, wrong type, unknown enum value, bad
    date, 1.5 for an Int): graphql-core reports it before execution, at the variable's
    definition, whatever exception the scalar raised inside. The client's mistake."""
    if error.path is not None:
        return False
    if error.message in VARIABLE_MESSAGES:
        return True
    nodes = error.nodes or []
    return bool(nodes) and all(isinstance(n, VariableDefinitionNode) for n in nodes)


def _expected(error: GraphQLError) -> bool:
    """Errors we raise on purpose carry a code; GraphQL's own (syntax, validation) carry no
    original exception. Everything else is a fault: logged, and masked for the client."""
    if variable_error(error):
        return False  # kept with its message, given a code by anonymise_error
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
        if variable_error(error):
            return GraphQLError(
                error.message, nodes=error.nodes, source=error.source,
                positions=error.positions, extensions={"code": "VALIDATION"},
            )
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
