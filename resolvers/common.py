"""Helpers every resolver shares: page arguments and domain errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TypeVar

from graphql import GraphQLError
from strawberry.types.nodes import SelectedField

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


def wants_total(info: Info) -> bool:
    """Whether the connection being resolved selects ``totalCount`` (through fragments too)."""
    return selects_total(info.selected_fields)


def selects_total(fields: list) -> bool:
    """Whether any of these connection fields selects ``totalCount`` (through fragments too)."""

    def walk(selections: list) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == "totalCount":
                    return True
            elif walk(selection.selections):  # a fragment: look inside it
                return True
        return False

    return any(walk(field.selections) for field in fields)


def page_ahead(
    info: Info, owner_id: str, field: str, default_first: int, *, with_status: bool = False
) -> ListKey | None:
    """The loader key that the connection ``field``, selected right below the object being
    resolved, will load, when its arguments are plain (``first``, ``after``, and ``status``
    with ``with_status``); else None: the field then takes its own way, argument errors
    included. The caller checks that the viewer may read the list."""
    nested = [s for selected in info.selected_fields for s in selected.selections
              if isinstance(s, SelectedField) and s.name == field]
    if len(nested) != 1:
        return None
    arguments = nested[0].arguments
    if set(arguments) - ({"first", "after", "status"} if with_status else {"first", "after"}):
        return None
    first, after, status = (arguments.get(n) for n in ("first", "after", "status"))
    if status is not None and status not in ReferralStatus.__members__:
        return None
    try:
        # A literal comes as its text (``first: 20`` as "20"), a variable as its value.
        first = default_first if first is None else int(first)
        page = PageRequest.of(first, after, TIME_KEY, info.context.settings.max_first)
    except (PageArgumentError, TypeError, ValueError):
        return None
    return ListKey(owner_id, page, None if status is None else ReferralStatus(status).value,
                   total=selects_total(nested))


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
