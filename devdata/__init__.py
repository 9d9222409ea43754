"""Synthetic data for development, demos, tests and benchmarks: the seed generator and the demo.

The service never imports it while serving; only the CLI's ``seed`` and ``demo`` commands do,
inside the command (the import linter allows exactly those imports).
"""
