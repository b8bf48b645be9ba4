"""Thin resolvers: read arguments, check permission, call graph/ through loaders, and return
graph/ objects for the schema's types to wrap (never importing ``schema``)."""
