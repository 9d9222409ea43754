"""What a field declares it reads of its row is all it reads (schema/fields.py ``reads``).

A page or a reference whose selection declares what it reads is read with only those
columns (execution/columns.py); a declaration that left a column out would fail on such a
row, or worse, read the wrong thing. Each declared field of each node type is read here
from a real row of the test data set cut down to the declared columns, and must give
what it gives from the whole row.
"""

from collections import namedtuple
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.nodes import NODES
from schema.build import build_schema
from schema.fields import LANE, SOURCED, Fetch, Get

build_schema()  # every type is declared (and registered in SOURCED) by building the schema
TABLE_BACKED = [node for node in NODES if node.name in SOURCED]


def _declarations(type_name: str) -> list[tuple[str, Any]]:
    fields = SOURCED[type_name].__strawberry_definition__.fields  # type: ignore[attr-defined]
    return [(f.python_name, (f.metadata or {}).get(LANE)) for f in fields]


@pytest.mark.parametrize("node", TABLE_BACKED, ids=lambda node: node.name)
async def test_a_declared_field_reads_only_its_columns(engine: AsyncEngine, world, node) -> None:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(node.table).limit(50))).all()
    assert rows, f"no {node.table.name} in the test data"
    columns = set(node.table.c.keys())
    declared = 0
    for name, declaration in _declarations(node.name):
        reads = getattr(declaration, "reads", None)
        if reads is None:
            continue
        assert set(reads) <= columns, f"{node.name}.{name} declares {reads}"
        if not isinstance(declaration, Get):
            assert isinstance(declaration, Fetch)
            continue
        declared += 1
        Narrow = namedtuple("Narrow", reads)  # type: ignore[misc]
        for row in rows:
            narrow = Narrow(*(getattr(row, column) for column in reads))
            assert declaration.read(narrow) == declaration.read(row), f"{node.name}.{name}"
    assert declared, f"{node.name} declares no field's columns"
