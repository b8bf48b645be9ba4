"""The GraphQL schema: strawberry types per concept, merged into one Schema in ``schema.build``.

Types wrap what ``resolvers`` return (``graph.models`` records, pages, a write's ``Outcome``);
resolvers never build types. Types of other concepts are imported inside the field that returns
them: the concepts refer to each other, and a module-level import would make a cycle.
"""
