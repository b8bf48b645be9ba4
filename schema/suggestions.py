"""No "Did you mean ...?" for strangers.

graphql-core appends suggestions of real field, argument, type and enum names to validation and
variable errors ("Cannot query field 'nme' on type 'Customer'. Did you mean 'name'?"). With
introspection off in production, or for a caller without a token, they would map the schema one
guess at a time; there they are taken out of the messages. A developer with a token keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

# GraphQL names never hold "?", so the suggestion ends at the first one.
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestion(error: GraphQLError) -> GraphQLError:
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    # A new error: the validation cache hands the same error objects to every request.
    return GraphQLError(
        message, nodes=error.nodes, source=error.source, positions=error.positions,
        path=error.path, original_error=error.original_error, extensions=error.extensions,
    )


class HideSuggestions(SchemaExtension):
    """Strips suggestions from every error of anonymous requests, and of all requests when
    ``always`` (production)."""

    def __init__(self, *, always: bool = False) -> None:
        self.always = always

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        anonymous = getattr(self.execution_context.context, "principal", None) is None
        if self.always or anonymous:
            result.errors = [without_suggestion(e) for e in result.errors]
