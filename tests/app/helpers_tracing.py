"""Shared by the tracing tests (test_tracing_*.py): the query whose request they trace."""

LISTING = "query Listing { expenses(first: 3) { nodes { id member { name } } } }"
