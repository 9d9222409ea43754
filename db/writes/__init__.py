"""Writes: modules with a function that changes rows, and the reads that belong to those writes.

They run inside the caller's transaction (``RequestDb.savepoint()`` or ``in_transaction``);
nothing here commits.
"""
