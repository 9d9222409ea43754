"""A company's first day, as the README's "First day" section walks it (issue 14).

A fresh database; `expensegraph business create`; sign-in through the company's identity
provider (a real one on 127.0.0.1, RS256); then, through the API only: a team, a member, a
category, a card, an expense recorded, submitted, approved and exported. Production
settings: no development tokens, no introspection.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.http import create_app
from app.settings import Settings
from db.connect import create_engine
from tests.conftest import fresh_database
from tests.idp import FakeIdp, SigningKey

ROOT = Path(__file__).resolve().parent.parent
AUDIENCE = "expensegraph-first-day"
ADMIN, EMPLOYEE = "alice@books.example", "bob@books.example"


@pytest.fixture
def idp() -> Iterator[tuple[FakeIdp, SigningKey]]:
    key = SigningKey(
        "first-day", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    provider = FakeIdp()
    provider.keys = [key.jwk()]
    provider.thread.start()
    yield provider, key
    provider.server.shutdown()
    provider.server.server_close()


def _create_business(url: str, data_dir: Path) -> dict[str, str]:
    command = [sys.executable, "-m", "app.cli", "business", "create", "--name", "Books Ltd",
               "--home-currency", "GBP", "--timezone", "Europe/London",
               "--admin-email", ADMIN, "--admin-name", "Alice"]  # fmt: skip
    env = {**os.environ, "DATABASE_URL": url, "EXPENSEGRAPH_DATA_DIR": str(data_dir)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ids = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert {"business", "admin"} <= ids.keys(), done.stdout
    return ids


class Api:
    """The API as a dashboard calls it, signed in through the identity provider."""

    def __init__(self, client: httpx.AsyncClient, idp: FakeIdp, key: SigningKey) -> None:
        self.client, self.idp, self.key = client, idp, key

    def token(self, email: str) -> str:
        now = int(time.time())
        claims = {"iss": self.idp.issuer, "aud": AUDIENCE, "sub": email, "email": email,
                  "iat": now, "exp": now + 600}  # fmt: skip
        return self.key.sign(claims)

    async def __call__(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token(who)}"},
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        payload = next(iter(body["data"].values()))
        assert not isinstance(payload, dict) or not payload.get("userErrors"), payload
        return body["data"]


async def test_first_day_from_a_fresh_database(server_url: str, tmp_path: Path, idp) -> None:
    provider, key = idp
    url = await asyncio.to_thread(fresh_database, server_url)
    ids = await asyncio.to_thread(_create_business, url, tmp_path)
    settings = Settings.from_env({
        "DATABASE_URL": url, "EXPENSEGRAPH_DATA_DIR": str(tmp_path),
        "EXPENSEGRAPH_OIDC_ISSUER": provider.issuer, "EXPENSEGRAPH_OIDC_AUDIENCE": AUDIENCE,
    })  # fmt: skip
    assert not settings.hs256_tokens and not settings.introspection  # production defaults
    engine = create_engine(url)
    app = create_app(settings, url, engine=engine)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await _walk(Api(client, provider, key), ids)
    finally:
        await engine.dispose()


async def _walk(api: Api, ids: dict[str, str]) -> None:
    viewer = await api(ADMIN, "{ viewer { business { id name } member { id role } } }")
    assert viewer["viewer"]["business"] == {"id": ids["business"], "name": "Books Ltd"}
    assert viewer["viewer"]["member"] == {"id": ids["admin"], "role": "ADMIN"}

    team = (await api(ADMIN, "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } userErrors { code } } }",
                      i={"name": "Sales"}))["createTeam"]["team"]["id"]  # fmt: skip
    bob = (await api(ADMIN, "mutation($i: AddMemberInput!) { addMember(input: $i) { member { id } userErrors { code } } }",
                     i={"email": EMPLOYEE, "name": "Bob", "role": "EMPLOYEE", "teamId": team}))["addMember"]["member"]["id"]  # fmt: skip
    travel = (await api(ADMIN, "mutation($i: CreateCategoryInput!) { createCategory(input: $i) { category { id } userErrors { code } } }",
                        i={"name": "Travel", "glCode": "6100"}))["createCategory"]["category"]["id"]  # fmt: skip
    card = (await api(ADMIN, "mutation($i: IssueCardInput!) { issueCard(input: $i) { card { id last4 } userErrors { code } } }",
                      i={"holderId": bob, "teamId": team}))["issueCard"]["card"]  # fmt: skip

    expense = (await api(EMPLOYEE, "mutation($i: CreateExpenseInput!) { createExpense(input: $i) { expense { id status } userErrors { code } } }",
                         i={"amount": {"amount": "42.50", "currency": "GBP"}, "spentAt": "2026-11-30T08:15:00Z",
                            "merchantName": "Rail Co", "categoryId": travel, "cardId": card["id"]}))  # fmt: skip
    expense_id = expense["createExpense"]["expense"]["id"]
    await api(EMPLOYEE, "mutation($id: ID!) { submitExpense(id: $id) { expense { status } userErrors { code } } }", id=expense_id)  # fmt: skip
    await api(ADMIN, "mutation($id: ID!) { approveExpense(id: $id) { expense { status } userErrors { code } } }", id=expense_id)  # fmt: skip
    await api(ADMIN, "mutation($ids: [ID!]!) { markExpensesExported(ids: $ids) { expenses { id } userErrors { code } } }", ids=[expense_id])  # fmt: skip

    seen = await api(ADMIN, """query($id: ID!) { node(id: $id) { ... on Expense {
        status exportedAt amount { amount currency } homeAmount { amount currency }
        member { name } team { name } card { last4 } category { glCode } } } }""", id=expense_id)  # fmt: skip
    done = seen["node"]
    assert done["status"] == "APPROVED" and done["exportedAt"]
    assert done["amount"] == done["homeAmount"] == {"amount": "42.50", "currency": "GBP"}
    assert (done["member"], done["team"]) == ({"name": "Bob"}, {"name": "Sales"})
    assert done["card"]["last4"] == card["last4"] and done["category"]["glCode"] == "6100"
    # the employee sees their own expense; the business's summary counts it
    mine = await api(EMPLOYEE, "{ expenses(first: 5) { totalCount } }")
    assert mine["expenses"]["totalCount"] == 1
    summary = await api(ADMIN, "{ spendSummary(groupBy: [CATEGORY]) { category { name } total { amount } count } }")  # fmt: skip
    assert summary["spendSummary"] == [
        {"category": {"name": "Travel"}, "total": {"amount": "42.50"}, "count": 1}
    ]
