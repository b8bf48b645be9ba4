"""Execution that stops at the request's deadline, between two objects of the answer.

graphql-core completes the lists a resolver returned without awaiting: cancelling the request
takes effect only at its next await, so a large answer would be built in full, holding the event
loop, after the time was up. This executor looks at the deadline before each object's fields
(once per row, not per field, so the check costs next to nothing) and past it cancels the
request's task from within. A cancellation, not a field error: graphql-core would answer each
field error by finishing the other items of the list in the background, a million of them for a
large answer.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from graphql import OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.deadline import Deadline, DeadlinePassed, deadline_of

_UNSET = object()


class DeadlineExecutor(StrawberryGraphQLCoreExecutionContext):
    def _deadline(self) -> Deadline | None:
        found = self.__dict__.get("_request_deadline", _UNSET)
        if found is _UNSET:
            # A mutation's answer is not cut short: its write has committed by then, and a
            # TIMEOUT would tell the client it had not.
            mutation = self.operation.operation == OperationType.MUTATION
            found = None if mutation else deadline_of(getattr(self.context_value, "request",
                                                              None))
            self.__dict__["_request_deadline"] = found
        return found  # type: ignore[return-value]

    def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        if self.operation.operation == OperationType.MUTATION:
            # Before the first write: from here on the HTTP layer waits for the answer instead
            # of cancelling the request at its deadline.
            found = deadline_of(getattr(self.context_value, "request", None))
            if found is not None:
                found.hold()
        return super().execute_operation(*args, **kwargs)

    def execute_fields(self, *args: Any, **kwargs: Any) -> Any:
        deadline = self._deadline()
        if deadline is not None and deadline.at is not None and monotonic() >= deadline.at:
            raise DeadlinePassed
        return super().execute_fields(*args, **kwargs)
