"""Database layer: tables, engine and pool, embedded Postgres, query functions."""
