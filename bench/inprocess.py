"""SQL per request: run each shape once in-process, capture its statements, EXPLAIN them.

The app runs on ``httpx.ASGITransport`` with an engine we own, so a
``before_cursor_execute`` listener sees every statement with its parameters. Each one is
then run again under ``EXPLAIN (ANALYZE, FORMAT JSON)``: the sum of PostgreSQL's
"Execution Time" is the database floor of the request, whatever the Python side costs.
"""

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.http import create_app
from app.settings import Settings
from bench.shapes import Shape
from db.connect import create_engine

EXPLAIN_REPEATS = 3


@dataclass(frozen=True)
class SqlProfile:
    """The SQL one request of a shape sent, and what PostgreSQL spent executing it."""

    statements: int
    execution_ms: float
    planning_ms: float
    slowest_ms: float
    slowest_sql: str
    error: str = ""


class Capture:
    """Collects (statement, parameters) of every statement sent through an engine."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.statements.append((statement, parameters))


async def profile_shapes(
    settings: Settings, url: str, token: str, shapes: list[Shape], sql_dir: Path
) -> dict[str, SqlProfile]:
    """Return the SQL profile of each shape, keyed by ``label``; write the SQL to ``sql_dir``."""
    engine = create_engine(url, settings.pool)
    capture = Capture()
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    app = create_app(settings, url, engine=engine)
    profiles: dict[str, SqlProfile] = {}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for shape in shapes:
                label = _label(shape)
                await _post(client, shape, token)  # warm: caches, prepared statements
                capture.statements.clear()
                error = await _post(client, shape, token)
                captured = list(capture.statements)
                profiles[label] = await _explain(engine, captured, error)
                _write_sql(sql_dir / f"{label}.sql", captured)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
        await engine.dispose()
    return profiles


def _label(shape: Shape) -> str:
    first = shape.variables.get("first")
    return f"{shape.name}-{first}" if shape.name == "list" and first is not None else shape.name


async def _post(client: httpx.AsyncClient, shape: Shape, token: str) -> str:
    """Send the shape's request; return its first error ("" if none)."""
    response = await client.post(
        "/graphql",
        content=shape.body(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    if response.status_code != 200 or '"errors"' in response.text:
        return f"HTTP {response.status_code}: {response.text[:400]}"
    return ""


async def _explain(engine: AsyncEngine, captured: list[tuple[str, Any]], error: str) -> SqlProfile:
    """Return the profile of ``captured``: median over repeats of summed execution times."""
    runs: list[list[tuple[float, float]]] = []
    async with engine.connect() as conn:
        for _ in range(EXPLAIN_REPEATS):
            run = []
            for statement, parameters in captured:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue  # SET and the like have no plan
                result = await conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
                )
                plan = result.scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                run.append((plan[0]["Execution Time"], plan[0]["Planning Time"]))
            runs.append(run)
        await conn.rollback()
    totals = [sum(execution for execution, _ in run) for run in runs]
    median_run = runs[totals.index(statistics.median_low(totals))]
    slowest = max(range(len(median_run)), key=lambda i: median_run[i][0], default=None)
    explained = [s for s, _ in captured if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    return SqlProfile(
        statements=len(captured),
        execution_ms=sum(execution for execution, _ in median_run),
        planning_ms=sum(planning for _, planning in median_run),
        slowest_ms=median_run[slowest][0] if slowest is not None else 0.0,
        slowest_sql=" ".join(explained[slowest].split())[:160] if slowest is not None else "",
        error=error,
    )


def _write_sql(path: Path, captured: list[tuple[str, Any]]) -> None:
    """Write the captured statements and their parameters, for reading."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for number, (statement, parameters) in enumerate(captured, 1):
            out.write(f"-- statement {number}, parameters: {parameters!r}\n{statement};\n\n")
