"""What one request may cost: its document's size and its estimated rows.

The document size counts every character, comments and whitespace included, before parsing:
the token limit skips comments, so a small query with a huge comment would otherwise be lexed
in full.

The query cost is the estimated number of rows an operation can return, checked before it
runs. Depth and alias limits do not bound the size of an answer: ``first: 100`` nested four
times asks for 10^8 rows within a depth of ten. Like GitHub's node limit, every object a field
can return counts, with the sizes of enclosing lists multiplied:

- a field taking ``first``, ``limit`` or ``months`` returns that many (the value sent, or the
  argument's schema default when omitted or null); on a connection the size applies to its
  ``nodes`` and ``edges``;
- a list field without such an argument returns an estimate of its usual length
  (``LIST_ESTIMATES``, else ``DEFAULT_LIST_ESTIMATE``);
- an object field returns one.

A field's cost is its count times the product of the counts above it; scalars and introspection
cost nothing. Fields that run a graph algorithm (a trust search, a partner ranking, a network's
gaps or imbalances) return few rows but take far more work than they return: each call adds its
weight (``ALGORITHM_WEIGHTS``), multiplied like its rows by the lists above it, so that a few
dozen aliased calls exceed the default limit instead of filling the compute pool. The
operation's cost is the sum over its fields (fragments included, each spread counted where it
is spread).

The cost also bounds the work that no timeout can interrupt: graphql-core completes the lists a
resolver returned without awaiting, so a huge answer would hold the event loop until built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from graph.rules import is_integer
from schema.guards import _fail, _PreExecution, _selected
from schema.selection import (
    Kind,
    argument_value,
    field_definition,
    fragment_type,
    level,
    variable_defaults,
)

# Arguments that say how many rows a field returns.
SIZE_ARGUMENTS = ("first", "limit", "months")
# Lists of a connection that hold its page.
PAGE_FIELDS = {"nodes", "edges"}
# List fields without a size argument, by (type, field): their usual length.
LIST_ESTIMATES: dict[tuple[str, str], int] = {
    ("Professional", "networks"): 5,  # a professional belongs to a few networks
    ("Referral", "history"): 5,  # one entry per status: at most SENT, ACCEPTED and a final one
    ("Referral", "chain"): 50,  # graph.trust.MAX_CHAIN
    ("TrustPath", "hops"): 6,  # at most maxHops (RG_MAX_HOPS)
    ("NetworkGaps", "missingTrades"): 20,
    ("NetworkGaps", "passiveMembers"): 50,  # like a page of members
    ("ReciprocityBalance", "partners"): 20,
    ("Network", "imbalancedPairs"): 20,
    ("Referral", "rewards"): 4,  # one per program that applies and role: a few
    ("Reward", "history"): 5,  # created, maybe held and released, approved, paid or void
    ("Network", "reciprocityMatrix"): 100,  # the member pairs that referred at all
    ("Query", "referralStats"): 100,  # e.g. a year of months by a few trades
}
DEFAULT_LIST_ESTIMATE = 10
# Extra cost of each call of an algorithm field, by (type, field): about the rows of work it
# stands for. With the default limit (25000) about 16 trust searches or partner rankings, or 9
# network gaps, fit in one operation; every single call fits many times over.
ALGORITHM_WEIGHTS: dict[tuple[str, str], int] = {
    ("Query", "trustPaths"): 1500,
    ("Customer", "trustedProfessionals"): 1500,
    ("Professional", "partnerRecommendations"): 1500,
    ("Network", "gaps"): 2500,  # whole-network scans of members' customers and their hires
    ("Network", "imbalancedPairs"): 1000,  # the network's reciprocity, pair by pair
}


def _is_list(field: GraphQLField) -> bool:
    kind = field.type
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


class _Estimate:
    """Walks one operation; fragment costs are kept per (fragment, type, page) because a cost is
    linear in its multiplier, so a fragment spread many times is walked once."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any], defaults: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.known: dict[tuple[str, str, int | None], int] = {}

    def _argument(self, node: FieldNode, field: GraphQLField) -> int | None:
        for name in SIZE_ARGUMENTS:
            if name not in field.args:
                continue
            value = argument_value(node, name, self.variables, self.defaults)
            if not is_integer(value):
                default = field.args[name].default_value
                value = default if isinstance(default, int) else None
            if value is not None:
                return max(value, 0)
        return None

    def selection(self, selection_set: SelectionSetNode | None, parent: Kind,
                  page: int | None, trail: frozenset[str] = frozenset()) -> int:
        """The cost of ``selection_set`` on ``parent`` under a multiplier of one."""
        total = 0
        for kind, item in level(self.schema, selection_set, parent):
            if isinstance(item, FieldNode):
                total += self.field(item, kind, page, trail)
            else:
                total += self.spread(item.name.value, page, trail)
        return total

    def spread(self, name: str, page: int | None, trail: frozenset[str]) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in trail:
            return 0  # validation refuses unknown and cyclic fragments
        kind = fragment_type(self.schema, fragment)
        if kind is None:
            return 0
        key = (name, kind.name, page)
        if key not in self.known:
            self.known[key] = self.selection(fragment.selection_set, kind, page, trail | {name})
        return self.known[key]

    def field(self, node: FieldNode, parent: Kind, page: int | None,
              trail: frozenset[str]) -> int:
        name = node.name.value
        field = None if name.startswith("__") else field_definition(parent, name)
        if parent is None or field is None:
            return 0  # introspection is bounded by the schema; unions only have __typename
        returned = get_named_type(field.type)
        if not isinstance(returned, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0
        size = self._argument(node, field)
        if _is_list(field):
            if size is None:
                size = page if page is not None and name in PAGE_FIELDS else LIST_ESTIMATES.get(
                    (parent.name, name), DEFAULT_LIST_ESTIMATE)
            rows, child_page = size, None
        else:
            rows, child_page = 1, size  # a connection: its size applies to nodes and edges
        weight = ALGORITHM_WEIGHTS.get((parent.name, name), 0)
        return rows + weight + rows * self.selection(node.selection_set, returned, child_page,
                                                     trail)


def operation_cost(schema: GraphQLSchema, operation: OperationDefinitionNode,
                   fragments: dict[str, FragmentDefinitionNode],
                   variables: dict[str, Any] | None = None) -> int:
    """The estimated number of rows ``operation`` can return (see the module's docstring)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    estimate = _Estimate(schema, fragments, variables or {}, variable_defaults(operation))
    return estimate.selection(operation.selection_set, root, None)


# Costs of recent requests. Frontends send the same few documents again and again, so the walk
# is made once per document and page sizes: a cost depends only on the document, the operation
# and the integer variables (``_Estimate._argument`` reads a variable only when it is an
# integer, else the argument's default; a variable sent as anything else counts as sent).
CACHED_COSTS = 1024
_COSTS: dict[tuple[Any, ...], int] = {}
_NOT_AN_INT = object()


def _cost_key(ctx: Any) -> tuple[Any, ...] | None:
    if ctx.query is None:
        return None  # no text to know the document by
    variables = ctx.variables or {}
    sizes = sorted(
        (name, value if isinstance(value, int) and not isinstance(value, bool) else _NOT_AN_INT)
        for name, value in variables.items())  # names are unique: values are never compared
    return (id(ctx.schema._schema), ctx.query, ctx.operation_name, tuple(sizes))


class QueryCost(_PreExecution):
    """Refuses an operation whose estimated rows exceed ``max_cost`` before anything runs."""

    def __init__(self, *, execution_context: Any = None, max_cost: int) -> None:
        super().__init__(execution_context=execution_context)
        self.max_cost = max_cost

    def _check(self) -> None:
        ctx = self.execution_context
        key = _cost_key(ctx)
        cost = None if key is None else _COSTS.get(key)
        if cost is None:
            operation, fragments = _selected(ctx)
            if operation is None:
                return
            cost = operation_cost(ctx.schema._schema, operation, fragments, ctx.variables)
            if key is not None:
                if len(_COSTS) >= CACHED_COSTS:
                    _COSTS.clear()  # a rare reset keeps the cache bounded, no bookkeeping
                _COSTS[key] = cost
        if cost > self.max_cost:
            _fail(ctx, GraphQLError(
                f"query cost {cost} exceeds the limit of {self.max_cost}: the query could "
                f"return about {cost} rows; ask for smaller pages (first, limit) or nest fewer "
                "lists",
                extensions={"code": "VALIDATION", "limit": "cost", "cost": cost,
                            "maxCost": self.max_cost},
            ))


def document_too_long(query: str, max_chars: int) -> GraphQLError | None:
    """The error for a document longer than ``max_chars`` characters, or None."""
    if len(query) <= max_chars:
        return None
    return GraphQLError(
        f"the document has {len(query)} characters, more than the limit of {max_chars} "
        "(comments and whitespace count)",
        extensions={"code": "VALIDATION", "limit": "document", "maxChars": max_chars},
    )


class DocumentSize(SchemaExtension):
    """Refuses a document longer than ``max_chars`` characters before it is parsed."""

    def __init__(self, *, execution_context: Any = None, max_chars: int) -> None:
        super().__init__(execution_context=execution_context)
        self.max_chars = max_chars

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and (error := document_too_long(query, self.max_chars)):
            raise error
        yield
