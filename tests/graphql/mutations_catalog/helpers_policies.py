"""What the policy tests share: the policy mutations and list, unique names, amounts in
pounds, policies set through the API, categories of their own, and policies read back in SQL.

Each policy test module runs on a GBP business of its own plus a rival. Each business
starts with the business-wide policy of tests.world ("Receipts over 50"); every test sets
its own policies, so the tests do not depend on each other's order. Refused calls also
check that no policy and no audit event changed.
"""

import base64
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import encode_id
from tests.graphql.mutations_catalog.helpers_calls import ERRORS, call
from tests.graphql.mutations_catalog.helpers_categories import new_category
from tests.graphql.mutations_catalog.helpers_orgs import Org, tag
from tests.graphql.mutations_catalog.helpers_records import census, stored_row

POLICY = (
    "id name category { id name } maxAmount { amount currency }"
    " receiptRequiredAbove { amount currency } active createdAt"
)
SET = f"mutation($input: SetPolicyInput!) {{ p: setPolicy(input: $input) {{ policy {{ {POLICY} }} {ERRORS} }} }}"  # fmt: skip
REMOVE = f"mutation($id: ID!) {{ p: removePolicy(id: $id) {{ policy {{ {POLICY} }} {ERRORS} }} }}"  # fmt: skip
LIST = "{ viewer { business { policies { id name active maxAmount { amount currency } } } } }"


def pgid(policy_id: int) -> str:
    return encode_id("Policy", policy_id)


def row_id(global_id: str) -> int:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    type_name, _, id_ = raw.partition(":")
    assert type_name == "Policy"
    return int(id_)


def gbp(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "GBP"}


async def stored(engine: AsyncEngine, policy_id: int) -> tuple[Any, ...]:
    """Return (name, category_id, max_amount_minor, receipt_required_above_minor, active)."""
    columns = "name, category_id, max_amount_minor, receipt_required_above_minor, active"
    return await stored_row(engine, "policies", columns, policy_id)


async def policy_census(engine: AsyncEngine, org: Org) -> tuple[Any, int]:
    """Return every policy of the business as stored, and its number of audit events."""
    return await census(engine, org, "policies")


async def new_policy(client: Any, org: Org, **input_: Any) -> int:
    """Set a policy through the API as an admin; return its row id."""
    input_ = {"name": f"Policy {tag()}", "maxAmount": gbp("100"), **input_}
    payload = await call(client, SET, org.credential("admin"), input=input_)
    assert payload["userErrors"] == [], payload
    return row_id(payload["policy"]["id"])


async def live_category(engine: AsyncEngine, org: Org, *, archived: bool = False) -> int:
    """Insert a category of the module's business; return its row id."""
    return await new_category(engine, org, f"Category {tag()}", archived=archived)


async def archived_category(engine: AsyncEngine, org: Org) -> int:
    return await live_category(engine, org, archived=True)
