"""The GraphQL schema: strawberry types per concept, merged into one Schema in ``schema.build``."""
