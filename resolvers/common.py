"""Helpers every resolver shares: page arguments and domain errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.types.nodes import convert_arguments

from graph.errors import DomainError
from graph.lists import ListKey
from graph.models import Job, Professional, Referral, ReferralStatus
from graph.outcome import Outcome
from graph.pagination import PageArgumentError, PageRequest
from graph.rules import check_window
from resolvers.context import Info

T = TypeVar("T")

ID_KEY = 1
TIME_KEY = 2


def declared_default(info: Info, name: str, value: int | None) -> int:
    """``value``, or when it is null the default the schema declares for the argument ``name``
    (its Python name) of the field being resolved: ``first: null`` means no ``first``."""
    if value is not None:
        return value
    argument = info.get_argument_definition(name)
    default = None if argument is None else argument.default
    if not isinstance(default, int):
        raise TypeError(f"{info.field_name}.{name} declares no integer default")
    return default


def page_request(info: Info, first: int | None, after: str | None, key_len: int) -> PageRequest:
    """Checked page arguments; a bad ``first`` or ``after`` fails the query as a whole."""
    first = declared_default(info, "first", first)
    try:
        return PageRequest.of(first, after, key_len, info.context.settings.max_first)
    except PageArgumentError as exc:
        raise GraphQLError(str(exc), extensions={"code": "VALIDATION"}) from None


# The field being resolved is read from graphql-core's own nodes: strawberry's
# ``info.selected_fields`` converts the whole selection below the field on every call (at the
# root of a profile read, the page of referrals and their parties), about 2% of the read's CPU
# for the two questions asked here.


def wants_total(info: Info) -> bool:
    """Whether the connection being resolved selects ``totalCount`` (through fragments too)."""
    raw = info._raw_info
    return any(_selects_total(node.selection_set, raw.fragments) for node in raw.field_nodes)


def _selects_total(selection_set: SelectionSetNode | None,
                   fragments: dict[str, FragmentDefinitionNode]) -> bool:
    """Whether ``totalCount`` is among these selections, or those of the fragments in them."""
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            if selection.name.value == "totalCount":
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _selects_total(selection.selection_set, fragments):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _selects_total(fragment.selection_set, fragments):
                return True
    return False


def page_ahead(
    info: Info, owner_id: str, field: str, default_first: int, *, with_status: bool = False
) -> ListKey | None:
    """The loader key that the connection ``field``, selected right below the object being
    resolved, will load, when its arguments are plain (``first``, ``after``, and ``status``
    with ``with_status``); else None: the field then takes its own way, argument errors
    included. The caller checks that the viewer may read the list."""
    raw = info._raw_info
    nested = [s for node in raw.field_nodes if node.selection_set is not None
              for s in node.selection_set.selections
              if isinstance(s, FieldNode) and s.name.value == field]
    if len(nested) != 1:
        return None
    # A literal comes as its text (``first: 20`` as "20"), a variable as its value.
    arguments = convert_arguments(raw, nested[0].arguments)
    if set(arguments) - ({"first", "after", "status"} if with_status else {"first", "after"}):
        return None
    first, after, status = (arguments.get(n) for n in ("first", "after", "status"))
    if status is not None and status not in ReferralStatus.__members__:
        return None
    try:
        first = default_first if first is None else int(first)
        page = PageRequest.of(first, after, TIME_KEY, info.context.settings.max_first)
    except (PageArgumentError, TypeError, ValueError):
        return None
    return ListKey(owner_id, page, None if status is None else ReferralStatus(status).value,
                   total=_selects_total(nested[0].selection_set, raw.fragments))


def prime_parties(info: Info, items: Iterable[Job | Referral]) -> None:
    """Hand the parties a page brought along to the loaders, so that resolving them costs no
    round trip."""
    loaders = info.context.loaders
    for item in items:
        for party in item.parties:
            if isinstance(party, Professional):
                loaders.professional_by_id.prime(party.id, party)
            else:
                loaders.customer_by_id.prime(party.id, party)


def query_error(error: DomainError) -> GraphQLError:
    """A domain error raised by a query (not a mutation) as a GraphQL error with its code."""
    extensions: dict[str, object] = {"code": error.code.value}
    if error.field is not None:
        extensions["field"] = error.field
    return GraphQLError(error.message, extensions=extensions)


def window(since: datetime | None, until: datetime | None) -> tuple[str | None, str | None]:
    """A checked [since, until) window as store text, for queries."""
    try:
        return check_window(since, until)
    except DomainError as exc:
        raise query_error(exc) from None


async def guarded(call: Awaitable[T]) -> T:
    """Await a query's store call, turning domain errors into GraphQL errors."""
    try:
        return await call
    except DomainError as exc:
        raise query_error(exc) from None


async def mutate(call: Callable[[], Awaitable[T]]) -> Outcome[T]:
    """Run a mutation; a domain error becomes the outcome's error list (nothing was written)."""
    try:
        result = await call()
    except DomainError as exc:
        return Outcome(errors=[exc])
    return Outcome(result)
