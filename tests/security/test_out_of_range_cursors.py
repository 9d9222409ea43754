"""Malformed pagination cursors (wrong types, values beyond their column's range, not
JSON, not base64): BAD_USER_INPUT on the cursor argument, never INTERNAL.
"""

import base64
import json
from typing import Any

import pytest

from tests.conftest import gql, gql_raw, token
from tests.security.helpers_out_of_range import EXPENSES, assert_bad_input, post_ascii
from tests.world import World

# --- 4. malformed cursors ---


def cursor(value: Any) -> str:
    """Return a cursor: URL-safe base64 of ``value``'s JSON, without padding."""
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


WHEN = "2026-06-01T12:00:00+00:00"
BAD_CURSORS = {
    "id-true": ["spent_at", WHEN, True],
    "id-false": ["spent_at", WHEN, False],
    "id-2**63": ["spent_at", WHEN, 2**63],
    "id-huge": ["spent_at", WHEN, 10**400],
    "id-negative": ["spent_at", WHEN, -1],
    "id-zero": ["spent_at", WHEN, 0],
    "id-float": ["spent_at", WHEN, 1.0],
    "id-string": ["spent_at", WHEN, "1"],
    "id-object": ["spent_at", WHEN, {"id": 1}],
    "id-list": ["spent_at", WHEN, [1]],
    "id-null": ["spent_at", WHEN, None],
    "when-far-future": ["spent_at", "9999-12-31T23:59:59.999999-23:59", 1],
    "when-far-past": ["spent_at", "0001-01-01T00:00:00+23:59", 1],
    "when-naive": ["spent_at", "2026-06-01T12:00:00", 1],
    "when-number": ["spent_at", 1, 1],
    "when-bool": ["spent_at", True, 1],
    "when-object": ["spent_at", {"at": WHEN}, 1],
    "when-surrogate": ["spent_at", "\ud800", 1],
    "column-object": [{"spent_at": 1}, WHEN, 1],
    "too-long": ["spent_at", WHEN, 1, 2],
    "too-short": ["spent_at", WHEN],
    "object": {"spent_at": WHEN, "id": 1, "x": 2},
    "three-keys": {"spent_at": 1, "b": 2, "c": 3},
    "string": "spent_at",
    "number": 1,
    "nan": b'["spent_at", "2026-06-01T12:00:00+00:00", NaN]',
    "infinity": b'["spent_at", "2026-06-01T12:00:00+00:00", Infinity]',
    "deep": b"[" * 100_000,
    "not-json": b"\xff\xfe",
    "other-column": ["home_amount_minor", 1, 1],
}
BAD_AMOUNT_CURSORS = {
    "amount-true": ["home_amount_minor", True, 1],
    "amount-float": ["home_amount_minor", 1.5, 1],
    "amount-string": ["home_amount_minor", "12", 1],
    "amount-2**63": ["home_amount_minor", 2**63, 1],
    "amount-huge-negative": ["home_amount_minor", -(2**63), 1],
    "amount-null": ["home_amount_minor", None, 1],
}


@pytest.mark.parametrize("value", list(BAD_CURSORS.values()), ids=list(BAD_CURSORS))
@pytest.mark.parametrize("field", ["after", "before"])
async def test_malformed_cursors(client, world: World, field, value):
    variables: dict[str, Any] = {field: cursor(value)}
    if field == "before":
        variables["last"] = 5
    response = await gql_raw(client, EXPENSES, variables, as_=token(world.a, "admin"))
    assert_bad_input(response, field)


@pytest.mark.parametrize("value", list(BAD_AMOUNT_CURSORS.values()), ids=list(BAD_AMOUNT_CURSORS))
async def test_malformed_amount_cursors(client, world: World, value):
    variables = {"after": cursor(value), "o": {"field": "AMOUNT", "direction": "DESC"}}
    response = await gql_raw(client, EXPENSES, variables, as_=token(world.a, "admin"))
    assert_bad_input(response, "after")


@pytest.mark.parametrize("garbage", ["\ud800", "%%%", "a", "=" * 8, "é"])
async def test_cursors_that_are_not_base64(client, world: World, garbage):
    response = await post_ascii(client, EXPENSES, {"after": garbage}, as_=token(world.a, "admin"))
    if response.status_code == 400:  # a lone surrogate: refused with the JSON body
        return
    assert_bad_input(response, "after")


async def test_cursors_at_the_edges_of_their_types_still_page(client, world: World):
    ok = [["spent_at", "1900-01-01T00:00:00+00:00", 2**63 - 1],
          ["spent_at", "9999-12-31T23:59:59.999999+00:00", 1]]  # fmt: skip
    for value in ok:
        await gql(client, EXPENSES, {"after": cursor(value)}, as_=token(world.a, "admin"))
    amount = {"after": cursor(["home_amount_minor", -(2**63) + 1, 1]),
              "o": {"field": "AMOUNT", "direction": "ASC"}}  # fmt: skip
    await gql(client, EXPENSES, amount, as_=token(world.a, "admin"))
