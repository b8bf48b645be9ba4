"""Checks that run after validation and before any resolver: authentication and limits.

Both fail the whole request before it touches the store, with an error that says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from app.settings import Settings
from graph.pagination import PageArgumentError, decode_cursor


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
    seen: set[str] | None = None,
) -> Iterator[FieldNode]:
    """Every field of a selection set, through fragments, depth first."""
    if selection_set is None:
        return
    seen = set() if seen is None else seen
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                yield from _fields(fragments[name].selection_set, fragments, seen)


def _selected(ctx: Any) -> tuple[OperationDefinitionNode | None, dict[str, FragmentDefinitionNode]]:
    """The operation to run and the document's fragments by name."""
    fragments = {
        d.name.value: d for d in ctx.graphql_document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    return _operation(ctx.graphql_document, ctx.operation_name), fragments


def _fail(context: Any, error: GraphQLError) -> None:
    """Answer with ``error`` instead of executing: no resolver runs, nothing touches the store."""
    context.result = ExecutionResult(data=None, errors=[error])


class AuthGate(SchemaExtension):
    """Without a valid token, only ``{ __typename }`` answers."""

    def on_execute(self) -> Iterator[None]:
        self._check()
        yield

    def _check(self) -> None:
        ctx = self.execution_context
        if ctx.result is not None or ctx.graphql_document is None:
            return
        context = ctx.context
        if getattr(context, "principal", None) is not None:
            return
        operation, fragments = _selected(ctx)
        roots = list(_fields(operation.selection_set, fragments)) if operation else []
        if roots and all(f.name.value == "__typename" for f in roots):
            return
        response = getattr(context, "response", None)
        if response is not None:
            response.status_code = 401
        _fail(ctx, GraphQLError(
            "authentication required: send a bearer token (Authorization: Bearer <token>)",
            extensions={"code": "UNAUTHENTICATED"},
        ))


def argument_limits(settings: Settings) -> dict[str, int]:
    return {"first": settings.max_first, "limit": settings.max_limit, "maxHops": settings.max_hops}


class ArgumentLimits(SchemaExtension):
    """``first``, ``limit`` and ``maxHops`` anywhere in the operation (literals or variables)
    must lie in 1..their configured maximum, and every ``after`` must be a cursor of ours.

    Checking before execution matters most for mutations: a bad page argument in the selection
    of a mutation's result would otherwise fail only after the mutation had written."""

    def __init__(self, *, execution_context: Any = None, limits: dict[str, int]) -> None:
        super().__init__(execution_context=execution_context)
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        self._check()
        yield

    def _check(self) -> None:
        ctx = self.execution_context
        if ctx.result is not None or ctx.graphql_document is None:
            return
        operation, fragments = _selected(ctx)
        if operation is None:
            return
        variables = ctx.variables or {}
        defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or () if d.default_value is not None
        }
        for node in _fields(operation.selection_set, fragments):
            for argument in node.arguments or ():
                name = argument.name.value
                if name not in self.limits and name != "after":
                    continue
                if isinstance(argument.value, VariableNode):
                    variable = argument.value.name.value
                    if variable in variables:
                        value = variables[variable]
                    elif variable in defaults:
                        value = defaults[variable]
                    else:
                        continue  # not provided: the argument's own default applies
                else:
                    value = value_from_ast_untyped(argument.value)
                error = _argument_error(name, value, self.limits, node.name.value)
                if error is not None:
                    _fail(ctx, error)
                    return


def _argument_error(
    name: str, value: Any, limits: dict[str, int], field: str
) -> GraphQLError | None:
    if name == "after":
        if isinstance(value, str):
            try:
                decode_cursor(value)
            except PageArgumentError as exc:
                return GraphQLError(f"{exc} (on {field})", extensions={"code": "VALIDATION"})
        return None
    if value is not None and not isinstance(value, int):
        return None  # a value of another type fails GraphQL's own validation
    maximum = limits[name]
    if value is None or not 1 <= value <= maximum:
        got = "null" if value is None else value
        return GraphQLError(
            f"{name} must be between 1 and {maximum}, got {got} (limit {name} on {field})",
            extensions={"code": "VALIDATION", "limit": name},
        )
    return None
