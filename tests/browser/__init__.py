"""GraphiQL in a real browser."""
