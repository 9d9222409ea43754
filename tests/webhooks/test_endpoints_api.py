"""Managing webhooks through GraphQL, and a change made through GraphQL arriving signed."""

import dataclasses
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from app import webhooks
from resolvers.ids import encode_id
from tests.conftest import SETTINGS, app_client, codes, gql, gql_raw, token
from tests.webhooks.conftest import Receiver, disable_all
from tests.world import World

ENDPOINT = "endpoint { id url eventTypes enabled disabledReason description } secret userErrors { field code }"
CREATE = f"""mutation($url: String!, $types: [String!]) {{
  p: createWebhookEndpoint(url: $url, eventTypes: $types, description: "books") {{ {ENDPOINT} }} }}"""
ROTATE = f"mutation($id: ID!) {{ p: rotateWebhookSecret(id: $id) {{ {ENDPOINT} }} }}"
DISABLE = f"mutation($id: ID!) {{ p: disableWebhookEndpoint(id: $id) {{ {ENDPOINT} }} }}"
UPDATE = f"mutation($id: ID!, $on: Boolean) {{ p: updateWebhookEndpoint(id: $id, enabled: $on) {{ {ENDPOINT} }} }}"
DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id) {
  eventId eventType status attempts lastHttpCode lastError deliveredAt } }"""
REDELIVER = """mutation($id: ID!, $event: ID!) { p: redeliverEvent(endpointId: $id, eventId: $event) {
  delivery { eventId status attempts } userErrors { field code } } }"""
SETTINGS_FAST = webhooks.WebhookSettings(allow_private=True, first_retry_s=0.01, max_retry_s=0.05)


@pytest.fixture(autouse=True)
async def _alone(engine: AsyncEngine) -> Any:
    await disable_all(engine)
    yield
    await disable_all(engine)


async def test_an_admin_registers_an_endpoint_and_a_change_arrives_signed(
    client, engine, world: World, receiver: Receiver
) -> None:
    admin = token(world.a, "admin")
    made = (await gql(client, CREATE, {"url": receiver.url, "types": ["card.frozen"]}, as_=admin))[
        "p"
    ]
    assert made["userErrors"] == [] and made["secret"].startswith("whsec_")
    assert made["endpoint"]["eventTypes"] == ["card.frozen"] and made["endpoint"]["enabled"]
    gid = encode_id("Card", world.a.cards["employee"])
    freeze = "mutation($id: ID!) { freezeCard(id: $id) { userErrors { code } } }"
    assert (await gql(client, freeze, {"id": gid}, as_=admin))["freezeCard"]["userErrors"] == []
    await webhooks.tick(engine, SETTINGS_FAST)
    [got] = receiver.got
    sent = Webhook(made["secret"]).verify(got.body, got.headers)
    assert (sent["type"], sent["data"]["objectId"]) == ("card.frozen", gid)
    assert sent["data"]["transition"] == {"from": "ACTIVE", "to": "FROZEN"}
    listed = (await gql(client, DELIVERIES, {"id": made["endpoint"]["id"]}, as_=admin))[
        "webhookDeliveries"
    ]
    assert [(d["eventType"], d["status"], d["attempts"], d["lastHttpCode"]) for d in listed] == [
        ("card.frozen", "DELIVERED", 1, 200)
    ]
    # delivered again on request, and the receiver gets the same event id once more
    again = (
        await gql(
            client,
            REDELIVER,
            {"id": made["endpoint"]["id"], "event": listed[0]["eventId"]},
            as_=admin,
        )
    )["p"]
    assert again["userErrors"] == [] and again["delivery"]["status"] == "PENDING"
    await webhooks.tick(engine, SETTINGS_FAST)
    assert [r.headers["webhook-id"] for r in receiver.got] == [listed[0]["eventId"]] * 2
    unfreeze = "mutation($id: ID!) { unfreezeCard(id: $id) { userErrors { code } } }"
    await gql(client, unfreeze, {"id": gid}, as_=admin)


async def test_rotation_and_disabling(client, engine, world: World, receiver: Receiver) -> None:
    admin = token(world.a, "admin")
    made = (await gql(client, CREATE, {"url": receiver.url}, as_=admin))["p"]
    rotated = (await gql(client, ROTATE, {"id": made["endpoint"]["id"]}, as_=admin))["p"]
    assert rotated["secret"] not in (None, made["secret"])
    disabled = (await gql(client, DISABLE, {"id": made["endpoint"]["id"]}, as_=admin))["p"]
    assert disabled["endpoint"]["enabled"] is False and disabled["secret"] is None
    freeze = "mutation($id: ID!) { freezeCard(id: $id) { userErrors { code } } }"
    card = world.a.cards["employee"]
    await gql(client, freeze, {"id": encode_id("Card", card)}, as_=admin)
    await webhooks.tick(engine, SETTINGS_FAST)
    assert receiver.got == []  # disabled: its deliveries wait
    enabled = (await gql(client, UPDATE, {"id": made["endpoint"]["id"], "on": True}, as_=admin))[
        "p"
    ]
    assert enabled["endpoint"]["enabled"] is True
    await webhooks.tick(engine, SETTINGS_FAST)
    types = [Webhook(rotated["secret"]).verify(r.body, r.headers)["type"] for r in receiver.got]
    assert "card.frozen" in types
    unfreeze = "mutation($id: ID!) { unfreezeCard(id: $id) { userErrors { code } } }"
    await gql(client, unfreeze, {"id": encode_id("Card", card)}, as_=admin)


@pytest.mark.parametrize("who", ["finance", "manager", "employee", "a_read"])
async def test_only_admins_manage_webhooks(client, world: World, who: str) -> None:
    as_ = world.keys[who] if who.startswith("a_") else token(world.a, who)
    response = await gql_raw(client, CREATE, {"url": "https://hooks.example.com/x"}, as_=as_)
    assert codes(response.json()) == ["FORBIDDEN"]
    listed = await gql_raw(client, "{ webhookEndpoints { id } }", {}, as_=as_)
    assert codes(listed.json()) == ["FORBIDDEN"]


async def test_another_business_endpoint_is_not_found(client, world: World) -> None:
    made = (
        await gql(
            client, CREATE, {"url": "https://hooks.example.com/b"}, as_=token(world.b, "admin")
        )
    )["p"]
    response = await gql_raw(
        client, DELIVERIES, {"id": made["endpoint"]["id"]}, as_=token(world.a, "admin")
    )
    assert codes(response.json()) == ["NOT_FOUND"]
    rotate = (
        await gql(client, ROTATE, {"id": made["endpoint"]["id"]}, as_=token(world.a, "admin"))
    )["p"]
    assert [e["code"] for e in rotate["userErrors"]] == ["NOT_FOUND"] and rotate["secret"] is None


@pytest.mark.parametrize(
    ("url", "types"),
    [("http://hooks.example.com/x", None), ("https://127.0.0.1/x", None), ("https://10.0.0.8/x", None),
     ("https://hooks.example.com/x", ["Not A Type"]), ("not a url", None)],
)  # fmt: skip
async def test_production_refuses_bad_endpoints(
    engine, database_url, world: World, url: str, types: Any
) -> None:
    production = dataclasses.replace(SETTINGS, webhooks_allow_private=False)
    async with app_client(production, engine, database_url) as client:
        made = (
            await gql(client, CREATE, {"url": url, "types": types}, as_=token(world.a, "admin"))
        )["p"]
    assert made["endpoint"] is None and made["secret"] is None
    assert [e["code"] for e in made["userErrors"]] == ["INVALID_VALUE"]
