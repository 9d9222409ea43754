"""Reads: modules whose functions only run SELECTs (checked by tests/db/test_layout.py)."""
