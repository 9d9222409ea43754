"""Database layer: tables, engine and pool, embedded Postgres; reads in ``queries``, writes in ``writes``.

The root holds what every statement shares (tables, the engine and request handle, paging,
SQL helpers, visibility, locks, money). A module whose functions only read goes in
:mod:`db.queries`; a module with any function that changes rows goes in :mod:`db.writes`,
together with the reads that belong to its writes (the row it locks, the feed it appends to).
"""
