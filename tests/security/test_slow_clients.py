"""Slow and vanishing clients against a real `expensegraph serve` (issue 11, defect 1).

Twenty connections that send their headers and then a body one byte a second used to take
every admission slot and pooled connection: a normal query got 503 after 10 s. Bodies are
now read, within a size and time limit, before a request takes either.
"""

import asyncio
import json
import re
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.conftest import SETTINGS, token
from tests.serving import serving

LIGHT = b'{"query": "{ viewer { credential } }"}'
CREATE = "mutation($i: CreateExpenseInput!) { createExpense(input: $i) { expense { id } } }"
UPDATE = (
    'mutation($id: ID!) { updateExpense(id: $id, input: {description: "x"}) { expense { id } } }'
)
BODY_TIMEOUT_S = 3


def _head(port: int, credential: str, length: int) -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {credential}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def _dribble(port: int, credential: str, seconds: float) -> bytes:
    """Send headers promising 100 bytes, then a byte a second; return what came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_head(port, credential, 100))
    # always reading, so the answer is taken in before a later byte meets the closed socket
    answer = asyncio.ensure_future(reader.read(65536))
    try:
        async with asyncio.timeout(seconds):
            for _ in range(100):
                writer.write(b" ")
                await writer.drain()
                done, _ = await asyncio.wait({answer}, timeout=1)
                if done:
                    return answer.result()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
    return await answer if answer.done() else b""


def _in_flight(metrics: str) -> float:
    match = re.search(r'expensegraph_graphql_requests\{state="in_flight"\} ([0-9.]+)', metrics)
    assert match, metrics[-500:]
    return float(match.group(1))


async def _hang_up_after_sending(port: int, credential: str, body: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_head(port, credential, len(body)) + body)
    await writer.drain()
    writer.close()  # without reading the answer


async def test_slow_bodies_hold_no_slot_and_time_out(
    database_url: str, engine, world, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
        "EXPENSEGRAPH_DATA_DIR": str(tmp_path),
        "EXPENSEGRAPH_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_S),
    }
    admin = token(world.a, "admin")
    with serving(tmp_path, env) as served:
        slow = [
            asyncio.ensure_future(_dribble(served.port, admin, BODY_TIMEOUT_S + 5))
            for _ in range(20)
        ]
        await asyncio.sleep(1.0)  # all twenty are mid-body now
        async with httpx.AsyncClient(base_url=served.url, timeout=5) as client:
            normal = await client.post(
                "/graphql", content=LIGHT, headers={"Authorization": f"Bearer {admin}",
                                                    "Content-Type": "application/json"},
            )  # fmt: skip
            assert normal.status_code == 200 and normal.json()["data"]["viewer"]["credential"]
            assert _in_flight((await client.get("/metrics")).text) == 0
        answers = await asyncio.gather(*slow)
        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"content-type: application/json" in answer
        # a write that waits for a row lock: the client hangs up while it waits
        employee = token(world.a, "employee")
        async with httpx.AsyncClient(base_url=served.url, timeout=5) as client:
            variables = {"i": {"amount": {"amount": "1.00", "currency": "GBP"},
                               "spentAt": "2026-06-01T09:00:00Z", "merchantName": "Hang-up"}}  # fmt: skip
            created = await client.post("/graphql", json={"query": CREATE, "variables": variables},
                                        headers={"Authorization": f"Bearer {employee}"})  # fmt: skip
        expense = created.json()["data"]["createExpense"]["expense"]["id"]
        update = json.dumps({"query": UPDATE, "variables": {"id": expense}}).encode()
        async with engine.connect() as conn, conn.begin():
            await conn.execute(
                text("SELECT 1 FROM expenses WHERE merchant_name = 'Hang-up' FOR UPDATE")
            )
            await _hang_up_after_sending(served.port, employee, update)
            await asyncio.sleep(1.0)
        await asyncio.sleep(0.5)
    lines = [
        json.loads(line) for line in served.log.read_text().splitlines() if line.startswith("{")
    ]
    statuses = [line.get("status") for line in lines if "request_id" in line]
    assert statuses.count(408) == 20, statuses
    assert statuses[-1] == 499, statuses  # the client that left: not a 400
