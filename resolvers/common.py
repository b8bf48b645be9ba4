"""Helpers every resolver shares: page arguments and domain errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TypeVar

from graphql import GraphQLError
from strawberry.types.nodes import SelectedField

from graph.errors import DomainError
from graph.models import Job, Professional, Referral
from graph.pagination import PageArgumentError, PageRequest
from graph.rules import check_window
from resolvers.context import Info
from schema.common import UserError

T = TypeVar("T")
P = TypeVar("P")

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


async def mutate(
    call: Callable[[], Awaitable[T]], payload: Callable[[T | None, list[UserError]], P]
) -> P:
    """Run a mutation; a domain error becomes the payload's error list (nothing was written)."""
    try:
        result = await call()
    except DomainError as exc:
        return payload(None, [UserError.of(exc)])
    return payload(result, [])
