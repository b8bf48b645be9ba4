"""Checks that run after validation and before any resolver: authentication and limits.

Both fail the whole request before it touches the store, with an error that says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graph.rules import ARGUMENT_RULES, ArgumentRule, Rule, window_problem
from schema.selection import typed_fields, value_of, variable_defaults


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _fragments(document: Any) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }


def root_fields(document: Any, operation_name: str | None) -> list[FieldNode]:
    """The top-level fields of the operation to run (none when the document names no single
    operation to run)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return []
    top = typed_fields(None, operation.selection_set, None, _fragments(document), deep=False)
    return [node for _, node in top]


def _selected(ctx: Any) -> tuple[OperationDefinitionNode | None, dict[str, FragmentDefinitionNode]]:
    """The operation to run and the document's fragments by name."""
    return _operation(ctx.graphql_document, ctx.operation_name), _fragments(ctx.graphql_document)


def _fail(context: Any, error: GraphQLError) -> None:
    """Answer with ``error`` instead of executing: no resolver runs, nothing touches the store."""
    context.result = ExecutionResult(data=None, errors=[error])


class _PreExecution(SchemaExtension):
    """Runs ``_check`` after validation and before any resolver; it answers instead of
    executing by calling ``_fail``."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        # Nothing to check once an earlier guard has answered, or without a parsed document.
        if ctx.result is None and ctx.graphql_document is not None:
            self._check()
            if ctx.result is not None and ctx.operation_type is OperationType.SUBSCRIPTION:
                # strawberry starts a subscription whatever result a hook has set: raising
                # stops it, and the error is the subscription's (app.graphql_ws sends it as
                # the operation's error message).
                raise ctx.result.errors[0]
        yield

    def _check(self) -> None:
        raise NotImplementedError


class AuthGate(_PreExecution):
    """Without a valid token, only ``{ __typename }`` answers."""

    def _check(self) -> None:
        ctx = self.execution_context
        context = ctx.context
        if getattr(context, "principal", None) is not None:
            return
        operation, fragments = _selected(ctx)
        selected = typed_fields(None, operation.selection_set, None, fragments) if operation else ()
        roots = [node for _, node in selected]
        if roots and all(f.name.value == "__typename" for f in roots):
            return
        response = getattr(context, "response", None)
        if response is not None:
            response.status_code = 401
        _fail(ctx, GraphQLError(
            "authentication required: send a bearer token (Authorization: Bearer <token>)",
            extensions={"code": "UNAUTHENTICATED"},
        ))


class Transport(_PreExecution):
    """Subscriptions run over WebSocket, queries and mutations over HTTP: the HTTP layer's
    limits (request time, body size, rate per request) are made for the one, the socket's
    (connection_init, subscriptions per connection) for the other."""

    def _check(self) -> None:
        ctx = self.execution_context
        socket = getattr(ctx.context, "transport", "http") == "ws"
        subscription = ctx.operation_type is OperationType.SUBSCRIPTION
        if socket == subscription:
            return
        message = ("only subscriptions run over WebSocket; send queries and mutations over "
                   "HTTP (POST /graphql)" if socket else
                   "subscriptions run over WebSocket at /graphql (the graphql-transport-ws "
                   "protocol), not over HTTP")
        _fail(ctx, GraphQLError(message, extensions={"code": "BAD_REQUEST"}))


class LimitSettings(Protocol):
    """The settings the argument limits read; the service passes its own down."""

    @property
    def max_first(self) -> int: ...

    @property
    def max_limit(self) -> int: ...

    @property
    def max_hops(self) -> int: ...


def argument_limits(settings: LimitSettings) -> dict[str, int]:
    return {"first": settings.max_first, "limit": settings.max_limit, "maxHops": settings.max_hops}


class ArgumentLimits(_PreExecution):
    """Every argument with a rule in ``graph.rules.ARGUMENT_RULES`` keeps it, on the field it
    belongs to (found by the field's coordinates, Type.field), wherever the operation selects
    that field (literals or variables): ``first``, ``limit`` and ``maxHops`` lie in 1..their
    configured maximum or are null for the argument's default; cursors, windows, trades,
    ``months`` and ``minGap`` keep their rules.

    Checking before execution matters most for mutations: a bad page argument in the selection
    of a mutation's result would otherwise fail only after the mutation had written."""

    def __init__(self, *, execution_context: Any = None, limits: dict[str, int]) -> None:
        super().__init__(execution_context=execution_context)
        self.limits = limits

    def _check(self) -> None:
        ctx = self.execution_context
        found = _ruled_fields(ctx)
        if found is None:
            return
        defaults, ruled = found
        variables = ctx.variables or {}
        for node, rules in ruled:
            field = node.name.value
            values: dict[str, Any] = {}
            for argument in node.arguments or ():  # document order: the first bad one answers
                name = argument.name.value
                rule = rules.get(name)
                if rule is None:
                    continue
                value = value_of(argument.value, variables, defaults)
                error = _argument_error(name, rule, value, self.limits, field)
                if error is not None:
                    _fail(ctx, error)
                    return
                values[name] = value
            problem = window_problem(values.get("since"), values.get("until"))
            if problem is not None:
                _fail(ctx, GraphQLError(f"{problem} (on {field})",
                                        extensions={"code": "VALIDATION", "argument": "until"}))
                return


# The fields with argument rules of recent documents, found by walking the operation: the walk
# depends only on the document and the operation (the values, variables included, are checked
# afresh for every request), and frontends send the same few documents again and again.
CACHED_WALKS = 512
_Ruled = tuple[dict[str, Any], list[tuple[FieldNode, Mapping[str, ArgumentRule]]]]
_WALKS: dict[tuple[Any, ...], _Ruled] = {}


def _ruled_fields(ctx: Any) -> _Ruled | None:
    """The operation's variable defaults and each selected field that has argument rules,
    with its rules, in document order; None without an operation to run."""
    key = (None if ctx.query is None
           else (id(ctx.schema._schema), ctx.query, ctx.operation_name))
    found = None if key is None else _WALKS.get(key)
    if found is not None:
        return found
    operation, fragments = _selected(ctx)
    if operation is None:
        return None
    schema = ctx.schema._schema
    root = schema.get_root_type(operation.operation)
    ruled = []
    for parent, node in typed_fields(schema, operation.selection_set, root, fragments):
        rules = None if parent is None else ARGUMENT_RULES.get(f"{parent.name}.{node.name.value}")
        if rules:
            ruled.append((node, rules))
    found = (variable_defaults(operation), ruled)
    if key is not None:
        if len(_WALKS) >= CACHED_WALKS:
            _WALKS.clear()  # a rare reset keeps the cache bounded, no bookkeeping
        _WALKS[key] = found
    return found


def _argument_error(
    name: str, rule: ArgumentRule, value: Any, limits: dict[str, int], field: str
) -> GraphQLError | None:
    if isinstance(rule, Rule):
        problem = rule.problem(value)
        if problem is None:
            return None
        return GraphQLError(f"{name} on {field}: {problem}",
                            extensions={"code": "VALIDATION", "argument": name})
    problem = rule.problem(value, limits[rule.name])
    if problem is None:
        return None
    return GraphQLError(f"{name} {problem} (limit {name} on {field})",
                        extensions={"code": "VALIDATION", "limit": name})
