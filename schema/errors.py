"""Which errors reach clients as they are, which are masked, and how each is logged.

A client's mistake (a syntax or validation error, a refused argument, a coded error we raise) is
logged at info without a traceback; an unavailable store at warning; only a real fault (an
exception nobody raised on purpose) at error, with its traceback.
"""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError, VariableDefinitionNode
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

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


DETAIL_MAX = 300


def _expected(error: GraphQLError) -> bool:
    """Errors we raise on purpose carry a code; GraphQL's own (syntax, validation) carry no
    original exception. Everything else is masked for the client."""
    if variable_error(error):
        return False  # kept with its message, given a code by anonymise_error
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, GraphQLError):
        return "code" in (original.extensions or {})
    return False


def fault(error: GraphQLError) -> BaseException | None:
    """The exception behind ``error`` when it is a real fault of the service, else None."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError | StoreUnavailable):
        return None
    if variable_error(error):
        return None  # the client's variable, whatever the scalar raised inside
    return original


def log_error(error: GraphQLError) -> None:
    field = None if error.path is None else ".".join(str(p) for p in error.path)
    exception = fault(error)
    if exception is not None:
        log.error("unexpected error", exc_info=exception, extra={"field": field})
    elif isinstance(error.original_error, StoreUnavailable):
        log.warning("store unavailable",
                    extra={"field": field, "detail": str(error.original_error)[:DETAIL_MAX]})
    else:
        code = (error.extensions or {}).get("code")
        # The message may quote the client's input: a bounded excerpt keeps log lines small.
        log.info("client error",
                 extra={"field": field, "code": code, "detail": error.message[:DETAIL_MAX]})


class LoggingSchema(strawberry.Schema):
    """The schema, logging each error by its kind instead of every one as an error with a
    traceback (strawberry's default)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            log_error(error)


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
