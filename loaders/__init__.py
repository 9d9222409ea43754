"""Request-scoped DataLoaders: one batched SQL statement per loader level."""
