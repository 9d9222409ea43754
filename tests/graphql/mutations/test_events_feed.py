"""The change feed through GraphQL: what a change writes, who sees it, and resuming by cursor."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations.conftest import Shops, call, created, egid, row_id

FEED = """query($after: String, $first: Int, $filter: EventFilter) {
  events(after: $after, first: $first, filter: $filter) {
    edges { cursor node { id cursor type occurredAt objectType objectId changedFields
                          transition { from to } actor { kind apiKeyId member { id name } } } }
    pageInfo { hasNextPage endCursor } } }"""


async def _all(
    client: httpx.AsyncClient, as_: str, after: str | None, **filter_: Any
) -> list[dict[str, Any]]:
    """Return every event after ``after`` the caller sees, paging by 3."""
    found: list[dict[str, Any]] = []
    while True:
        page = (
            await gql(
                client, FEED, {"after": after, "first": 3, "filter": filter_ or None}, as_=as_
            )
        )["events"]
        found.extend(edge["node"] for edge in page["edges"])
        assert [e["cursor"] for e in page["edges"]] == [e["node"]["cursor"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def _end(client: httpx.AsyncClient, as_: str) -> str | None:
    """Return the cursor after the last event committed so far."""
    events = await _all(client, as_, None)
    return events[-1]["cursor"] if events else None


async def test_an_expense_life_writes_its_events_in_order(client, shops: Shops) -> None:
    shop = shops.gbp
    admin = shop.token("admin")
    start = await _end(client, admin)
    made = await call(client, "create", shop.token("employee"), input=created(shop))
    gid = made["expense"]["id"]
    await call(
        client,
        "update",
        shop.token("employee"),
        id=gid,
        input={"merchantName": "Renamed", "description": "x"},
    )
    await call(client, "submit", shop.token("employee"), id=gid)
    await call(client, "approve", shop.token("manager"), id=gid)
    events = await _all(client, admin, start, objectIds=[gid])
    assert [e["type"] for e in events] == [
        "expense.created",
        "expense.updated",
        "expense.submitted",
        "expense.approved",
    ]
    assert all(e["objectType"] == "Expense" and e["objectId"] == gid for e in events)
    assert events[1]["changedFields"] == ["description", "merchantName"]
    assert events[2]["transition"] == {"from": "DRAFT", "to": "SUBMITTED"}
    assert events[3]["transition"] == {"from": "SUBMITTED", "to": "APPROVED"}
    assert events[3]["actor"]["kind"] == "MEMBER"
    assert events[3]["actor"]["member"]["id"] == shop.gid("Member", "manager")
    assert len({e["id"] for e in events}) == 4
    # resuming after the second event gives exactly the last two
    later = await _all(client, admin, events[1]["cursor"], objectIds=[gid])
    assert [e["id"] for e in later] == [e["id"] for e in events[2:]]


async def test_a_refused_change_writes_no_event(client, engine: AsyncEngine, shops: Shops) -> None:
    shop = shops.gbp
    made = await call(client, "create", shop.token("employee"), input=created(shop))
    gid = made["expense"]["id"]
    refused = await call(
        client, "approve", shop.token("employee"), id=gid
    )  # a DRAFT, and their own
    assert refused["userErrors"]
    async with engine.connect() as conn:
        types = (
            await conn.execute(
                text("SELECT type FROM events WHERE business_id = :b AND object_type = 'Expense'"
                     " AND object_id = :i ORDER BY tx, id"),
                {"b": shop.id, "i": row_id(gid)},
            )
        ).scalars().all()  # fmt: skip
    assert types == ["expense.created"]


async def test_an_employee_sees_the_events_of_their_own_expenses_only(client, shops: Shops) -> None:
    shop = shops.gbp
    start = await _end(client, shop.token("admin"))
    mine = (await call(client, "create", shop.token("employee"), input=created(shop)))["expense"][
        "id"
    ]
    theirs = (
        await call(client, "create", shop.token("engineer"), input=created(shop, "engineer"))
    )["expense"]["id"]
    seen = {e["objectId"] for e in await _all(client, shop.token("employee"), start)}
    assert mine in seen and theirs not in seen
    assert {mine, theirs} <= {e["objectId"] for e in await _all(client, shop.token("admin"), start)}
    # another business never sees them, whatever it asks for
    other = {
        e["objectId"]
        for e in await _all(client, shops.other.token("admin"), None, objectIds=[mine, theirs])
    }
    assert other == set()


async def test_api_keys_read_the_events_their_scopes_read(client, shops: Shops) -> None:
    shop = shops.gbp
    start = await _end(client, shop.token("admin"))
    gid = (
        await call(
            client,
            "create",
            shop.keys["write"],
            input=created(shop, memberId=shop.gid("Member", "employee")),
        )
    )["expense"]["id"]
    by_key = await _all(client, shop.keys["read"], start)
    assert [e["type"] for e in by_key if e["objectId"] == gid] == ["expense.created"]
    event = next(e for e in by_key if e["objectId"] == gid)
    assert event["actor"]["kind"] == "API_KEY" and event["actor"]["member"] is None
    assert event["actor"]["apiKeyId"]
    # a card change is not an expenses:read event
    freeze = "mutation($id: ID!) { freezeCard(id: $id) { card { status } userErrors { code } } }"
    frozen = await gql(
        client, freeze, {"id": shop.gid("Card", "employee")}, as_=shop.token("admin")
    )
    assert frozen["freezeCard"]["userErrors"] == []
    card_events = [
        e for e in await _all(client, shop.token("admin"), start) if e["type"] == "card.frozen"
    ]
    assert card_events and card_events[-1]["transition"] == {"from": "ACTIVE", "to": "FROZEN"}
    assert all(e["objectType"] != "Card" for e in await _all(client, shop.keys["read"], start))
    unfreeze = "mutation($id: ID!) { unfreezeCard(id: $id) { userErrors { code } } }"
    await gql(client, unfreeze, {"id": shop.gid("Card", "employee")}, as_=shop.token("admin"))


@pytest.mark.parametrize("after", ["nope", egid(1)])
async def test_a_bad_cursor_is_bad_user_input(client, shops: Shops, after: str) -> None:
    response = await gql_raw(client, FEED, {"after": after}, as_=shops.gbp.token("admin"))
    assert codes(response.json()) == ["BAD_USER_INPUT"]


async def test_anonymous_callers_read_no_feed(client) -> None:
    response = await gql_raw(client, "{ events { nodes { id } } }", {}, as_=None)
    assert codes(response.json()) == ["UNAUTHENTICATED"]


async def test_a_pushed_chart_of_accounts_writes_its_events(client, shops: Shops) -> None:
    admin = shops.gbp.token("admin")
    start = await _end(client, admin)
    push = "mutation($input: [CategoryUpsertInput!]!) { upsertCategories(input: $input) { categories { id } userErrors { code } } }"
    first = await gql(client, push, {"input": [{"glCode": "9901", "name": "Feed A"}]}, as_=admin)
    [category] = first["upsertCategories"]["categories"]
    await gql(client, push, {"input": [{"glCode": "9901", "name": "Feed B"}]}, as_=admin)
    await gql(
        client, push, {"input": [{"glCode": "9901", "name": "Feed B"}]}, as_=admin
    )  # unchanged
    found = await _all(client, admin, start, objectIds=[category["id"]])
    assert [(e["type"], e["changedFields"]) for e in found] == [
        ("category.created", []),
        ("category.updated", ["name"]),
    ]


@pytest.mark.parametrize("page", [3, 30])
async def test_a_feed_page_costs_the_same_statements_whatever_its_size(
    client, statements, shops: Shops, page: int
) -> None:
    shop, admin = shops.gbp, shops.gbp.token("admin")
    # read only this test's events: the business's oldest ones depend on the tests before
    # (an actor without a team needs no team statement)
    start = await _end(client, admin)
    for _ in range(page // 3):  # enough events for the page, by three members with teams
        for who in ("employee", "engineer", "manager"):
            await call(client, "create", shop.token(who), input=created(shop, who))
    query = "query($n: Int, $after: String) { events(first: $n, after: $after) { nodes { type actor { member { name team { name } } } } } }"  # fmt: skip
    statements.reset()
    found = (await gql(client, query, {"n": page, "after": start}, as_=admin))["events"]["nodes"]
    assert len(found) == page
    assert all(event["actor"]["member"]["team"] is not None for event in found)
    # the credential, the feed page, the actors, their teams: no statement per event
    assert statements.count == 4, "\n".join(s[:60] for s in statements.statements)
