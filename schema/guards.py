"""Checks that run after validation and before any resolver: authentication and limits.

Both fail the whole request before it touches the store, with an error that says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from graph.rules import ARGUMENT_RULES, ArgumentRule, Rule, window_out_of_order


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
    seen: set[str] | None = None, *, deep: bool = True,
) -> Iterator[FieldNode]:
    """Every field of a selection set, through fragments, depth first; with ``deep`` false only
    the fields of this level (fragments followed, sub-selections not)."""
    if selection_set is None:
        return
    seen = set() if seen is None else seen
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
            if deep:
                yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen, deep=deep)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                yield from _fields(fragments[name].selection_set, fragments, seen, deep=deep)


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
    return list(_fields(operation.selection_set, _fragments(document), deep=False))


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
        operation, fragments = _selected(ctx)
        if operation is None:
            return
        schema = ctx.schema._schema
        variables = ctx.variables or {}
        defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or () if d.default_value is not None
        }
        root = schema.get_root_type(operation.operation)
        for parent, node in _typed_fields(schema, operation.selection_set, root, fragments):
            rules = ARGUMENT_RULES.get(f"{parent}.{node.name.value}")
            if not rules:
                continue
            values: dict[str, Any] = {}
            for argument in node.arguments or ():
                name = argument.name.value
                rule = rules.get(name)
                if rule is None:
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
                error = _argument_error(name, rule, value, self.limits, node.name.value)
                if error is not None:
                    _fail(ctx, error)
                    return
                values[name] = value
            if window_out_of_order(values.get("since"), values.get("until")):
                _fail(ctx, GraphQLError(f"since must be before until (on {node.name.value})",
                                        extensions={"code": "VALIDATION", "argument": "until"}))
                return


def _typed_fields(
    schema: GraphQLSchema, selection_set: SelectionSetNode | None,
    parent: GraphQLNamedType | None, fragments: dict[str, FragmentDefinitionNode],
    seen: set[str] | None = None,
) -> Iterator[tuple[str | None, FieldNode]]:
    """Every field of a selection set with the name of the type it is selected on, through
    fragments, depth first (the type is None below fields the schema does not list, such as
    introspection's)."""
    if selection_set is None:
        return
    seen = set() if seen is None else seen
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield (None if parent is None else parent.name), selection
            fields = getattr(parent, "fields", None) or {}
            definition = fields.get(selection.name.value)
            child = None if definition is None else get_named_type(definition.type)
            yield from _typed_fields(schema, selection.selection_set, child, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = parent if condition is None else schema.get_type(condition.name.value)
            yield from _typed_fields(schema, selection.selection_set, inner, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                fragment = fragments[name]
                inner = schema.get_type(fragment.type_condition.name.value)
                yield from _typed_fields(schema, fragment.selection_set, inner, fragments, seen)


def _argument_error(
    name: str, rule: ArgumentRule, value: Any, limits: dict[str, int], field: str
) -> GraphQLError | None:
    if isinstance(rule, Rule):
        problem = rule.problem(value)
        if problem is None:
            return None
        return GraphQLError(f"{name} on {field}: {problem}",
                            extensions={"code": "VALIDATION", "argument": name})
    if not isinstance(value, int) or isinstance(value, bool):
        # null means the argument's default, as the schema declares (the resolver applies it);
        # a value of another type fails GraphQL's own coercion.
        return None
    maximum = limits[rule.name]
    if not 1 <= value <= maximum:
        return GraphQLError(
            f"{name} must be between 1 and {maximum}, got {value} (limit {name} on {field})",
            extensions={"code": "VALIDATION", "limit": name},
        )
    return None
