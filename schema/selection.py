"""Walking an operation before it runs: its fields with the types they are selected on, and the
values their arguments will take.

The checks that run between validation and execution (authentication, argument rules, query
cost) read the document this way; validation has already refused unknown fields, types and
fragments, and fragment cycles.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

Kind = GraphQLNamedType | None


def level(
    schema: GraphQLSchema | None, selection_set: SelectionSetNode | None, parent: Kind
) -> Iterator[tuple[Kind, FieldNode | FragmentSpreadNode]]:
    """The fields and fragment spreads of one level of ``selection_set`` selected on
    ``parent``, inline fragments followed, each with the type it is selected on (an inline
    fragment's type condition, if any; always None without a schema). Spreads are left to the
    caller, which decides how often to walk a fragment."""
    if selection_set is None:
        return
    for item in selection_set.selections:
        if isinstance(item, InlineFragmentNode):
            condition = item.type_condition
            inner = parent if condition is None or schema is None else schema.get_type(
                condition.name.value)
            yield from level(schema, item.selection_set, inner)
        elif isinstance(item, FieldNode | FragmentSpreadNode):
            yield parent, item


def fragment_type(schema: GraphQLSchema | None, fragment: FragmentDefinitionNode) -> Kind:
    return None if schema is None else schema.get_type(fragment.type_condition.name.value)


def field_definition(parent: Kind, name: str) -> GraphQLField | None:
    """The schema's definition of field ``name`` on ``parent`` (None for introspection's
    fields, on unions and without a type)."""
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    return parent.fields.get(name)


def typed_fields(
    schema: GraphQLSchema | None, selection_set: SelectionSetNode | None, parent: Kind,
    fragments: Mapping[str, FragmentDefinitionNode], seen: set[str] | None = None,
    *, deep: bool = True,
) -> Iterator[tuple[Kind, FieldNode]]:
    """Every field of a selection set with the type it is selected on, through fragments
    (each walked once), depth first; with ``deep`` false only the fields of this level. The
    type is None below fields the schema does not list, such as introspection's, and always
    None without a schema."""
    seen = set() if seen is None else seen
    for kind, item in level(schema, selection_set, parent):
        if isinstance(item, FieldNode):
            yield kind, item
            if deep:
                definition = field_definition(kind, item.name.value)
                child = None if definition is None else get_named_type(definition.type)
                yield from typed_fields(schema, item.selection_set, child, fragments, seen)
        else:
            name = item.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                fragment = fragments[name]
                yield from typed_fields(schema, fragment.selection_set,
                                        fragment_type(schema, fragment), fragments, seen,
                                        deep=deep)


def variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    """The defaults the operation declares for its variables, by variable name."""
    return {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or () if d.default_value is not None
    }


def value_of(ast: ValueNode, variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    """The value an argument will take: a literal, or its variable's value (the variable's
    default when the request gives none, else None: the argument's own default applies)."""
    if isinstance(ast, VariableNode):
        variable = ast.name.value
        return variables.get(variable, defaults.get(variable))
    return value_from_ast_untyped(ast)


def argument_value(
    node: FieldNode, name: str, variables: Mapping[str, Any], defaults: Mapping[str, Any]
) -> Any:
    """The value argument ``name`` of ``node`` will take (see :func:`value_of`); None when it
    is not sent."""
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_of(argument.value, variables, defaults)
    return None
