"""Benchmarks of the API against a seeded database (`python -m bench.run`; see RESULTS.md)."""
