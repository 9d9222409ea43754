"""db/ keeps its one rule: modules in db/queries only read, the rest of the SQL is in db/writes."""

import ast
from pathlib import Path

DB = Path(__file__).resolve().parent.parent.parent / "db"
# what a module needs to change rows: SQLAlchemy's DML, or the write transaction (jobs.py
# runs pgqueuer's own INSERT after checking `db.writing`)
DML = {"insert", "update", "delete"}
# or the row writes every mutation shares (db/writes/rows.py)
ROW_WRITES = {"insert_row", "update_row", "inserting", "updating"}


def _writes(path: Path) -> list[str]:
    """Return what in the module at ``path`` changes rows."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [alias.name for alias in node.names if alias.name in DML]
        if isinstance(node, ast.ImportFrom) and node.module == "db.writes.rows":
            found += [alias.name for alias in node.names if alias.name in ROW_WRITES]
        if isinstance(node, ast.Attribute) and node.attr in {"begin_write", "savepoint", "writing"}:
            found.append(node.attr)
    return found


def test_queries_only_read() -> None:
    offenders = {p.name: _writes(p) for p in sorted((DB / "queries").glob("*.py")) if _writes(p)}
    assert not offenders, f"move these to db/writes: {offenders}"


def test_writes_write() -> None:
    readers = [p.name for p in sorted((DB / "writes").glob("[!_]*.py")) if not _writes(p)]
    assert not readers, f"these only read: move them to db/queries: {readers}"
