"""Fuzzing from outside: schemathesis (GraphQL mode) against a real server and the exported schema.

Checks: no 5xx, and no unexpected (masked INTERNAL) error in the server's log. Schemathesis's
"GraphQL client error" check is not used: a hardened API answers many generated queries
with BAD_USER_INPUT or QUERY_TOO_COMPLEX on purpose. It runs as
an admin of a business of its own, so the mutations it generates touch nothing else.
"""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from app.auth import issue_token
from tests.conftest import SETTINGS
from tests.serving import ROOT, serving
from tests.world import _business

# uploads need files, which generated GraphQL cannot carry; Decimal comes from tests/fuzz_hooks.py
EXCLUDED = "uploadReceipt"


@pytest.fixture
async def credential(engine) -> str:
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
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        log = server.log.read_text()
    assert fuzz.returncode == 0, fuzz.stdout[-4000:]
    assert "unexpected error" not in log, log[-4000:]
