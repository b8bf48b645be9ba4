"""Types every concept shares: Node, errors, pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Self, TypeVar

import strawberry

from graph.errors import DomainError
from graph.errors import ErrorCode as DomainErrorCode
from graph.outcome import Outcome
from graph.pagination import Page

strawberry.enum(DomainErrorCode, name="ErrorCode")
ErrorCode = DomainErrorCode

T = TypeVar("T")
M = TypeVar("M")


@strawberry.interface(description="Anything with a globally unique id. Ids carry a type prefix "
                      "(pro_, cus_, job_, ref_, net_).")
class Node:
    id: strawberry.ID


@strawberry.type(description="A user-facing error. A mutation that returns any error has "
                 "written nothing.")
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None = strawberry.field(
        description='Path of the offending input field, e.g. ["input", "rating"].'
    )

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(code=error.code, message=error.message, field=error.field)

    @classmethod
    def all(cls, outcome: Outcome) -> list[UserError]:
        return [cls.of(e) for e in outcome.errors]


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[str]) -> DeletePayload:
        deleted = outcome.value
        return cls(deleted_id=None if deleted is None else strawberry.ID(deleted),
                   errors=UserError.all(outcome))


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(description=(
        "Relay's PageInfo fields; with forward paging only, hasPreviousPage is true exactly "
        "when `after` was given."))
    start_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, page: Page[M], convert: Callable[[M], T]) -> Self:
        edges = [Edge(cursor=cursor, node=convert(item)) for cursor, item in page.items]
        return cls(
            edges=edges,
            nodes=[e.node for e in edges],
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=page.end_cursor,
                has_previous_page=page.has_previous, start_cursor=page.start_cursor,
            ),
            total_count=page.total,
        )
