"""The Starlette application, its settings and the command line."""
