"""Thin resolvers: read arguments, check permission, call graph/ through loaders, map to types."""
