"""Fuzzing from outside: schemathesis (GraphQL mode) against a real server and the exported schema.

Checks: no 5xx, and no unexpected (masked INTERNAL) error in the server's log. It runs as
an admin of a business of its own, so the mutations it generates touch nothing else.
"""

import random
import subprocess
import sys
from pathlib import Path

import pytest

from app.auth import issue_token
from tests.conftest import SETTINGS
from tests.serving import ROOT, serving
from tests.world import _business

# Decimal needs a custom strategy, which the command line cannot register; uploads need files
EXCLUDED = "createExpense|updateExpense|setCardSpendLimit|uploadReceipt"


@pytest.fixture
async def credential(engine) -> str:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        biz = await _business(conn, "Fuzzed Ltd", "GBP", 20, random.Random(11))
    return issue_token(SETTINGS, business_id=biz.id, member_id=biz.members["admin"])


def test_schemathesis_finds_no_server_errors(
    credential: str, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
           "EXPENSEGRAPH_DATA_DIR": str(tmp_path), "EXPENSEGRAPH_RATE_BUCKET_SIZE": "1000000000",
           "EXPENSEGRAPH_RATE_RESTORE_PER_SECOND": "1000000"}  # fmt: skip
    with serving(tmp_path, env) as server:
        fuzz = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "run", str(ROOT / "schema.graphql"),
             "--url", f"{server.url}/graphql", "-H", f"Authorization: Bearer {credential}",
             "--checks", "not_a_server_error", "--max-examples", "15", "--seed", "1",
             "--exclude-name-regex", EXCLUDED],
            capture_output=True, text=True, timeout=240, cwd=tmp_path,
        )  # fmt: skip
        log = server.log.read_text()
    assert fuzz.returncode == 0, fuzz.stdout[-4000:]
    assert "unexpected error" not in log, log[-4000:]
