"""Webhook endpoints, their deliveries, and the mutations that manage them (admins)."""

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from db.rows import WebhookEndpointRow
from db.writes.webhooks import DeliveryOfEventRow
from resolvers.context import Context
from resolvers.events import event_global_id
from resolvers.mutations import webhooks
from schema.base import enum_column
from schema.fields import Sourced, column
from schema.payloads import outcome, payload, with_secret


@strawberry.enum(description="Where a delivery is.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value(
        "PENDING", description="Not delivered yet: retried with backoff."
    )
    DELIVERED = strawberry.enum_value("DELIVERED", description="The endpoint answered 2xx.")
    FAILED = strawberry.enum_value(
        "FAILED", description="Not delivered within a day of the first attempt: no more retries."
    )


@strawberry.type(description="Where a business's events are sent, signed (README, Webhooks).")
class WebhookEndpoint(Sourced):
    row: strawberry.Private[WebhookEndpointRow]
    id: strawberry.ID = column(
        lambda row: strawberry.ID(webhooks.endpoint_global_id(row.id)), description="Opaque id."
    )
    url: str = column("url", description="Where events are POSTed.")
    description: str = column("description", description="What it is for.")
    event_types: list[str] = column(
        lambda row: list(row.event_types),
        description="The event types it receives; empty: every type.",
    )
    enabled: bool = column("enabled", description="False: nothing is sent to it.")
    disabled_reason: str | None = column(
        "disabled_reason", description="Why it was disabled, when it is."
    )
    failing_since: datetime | None = column(
        "failing_since",
        description="Since when its deliveries fail; null while they succeed.",
    )
    created_at: datetime = column("created_at", description="When it was registered.")


@strawberry.type(description="One event sent, or to be sent, to one endpoint.")
class WebhookDelivery(Sourced):
    row: strawberry.Private[DeliveryOfEventRow]
    event_id: strawberry.ID = column(
        lambda row: strawberry.ID(event_global_id(row.event_id)),
        description="The event (its `Event.id`, its `webhook-id` header).",
    )
    event_type: str = column("event_type", description="The event's type.")
    status: WebhookDeliveryStatus = enum_column(
        "status", WebhookDeliveryStatus, description="Where it is."
    )
    attempts: int = column("attempts", description="Attempts made.")
    last_http_code: int | None = column(
        "last_http_code", description="The status the endpoint last answered."
    )
    last_error: str | None = column("last_error", description="Why the last attempt failed.")
    next_attempt_at: datetime | None = column(
        lambda row: row.next_attempt_at if row.status == "PENDING" else None,
        description="When it is tried next (PENDING only).",
    )
    delivered_at: datetime | None = column("delivered_at", description="When the endpoint took it.")


@payload("Result of redeliverEvent.")
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None = strawberry.field(
        default=None, description="The delivery, due now; null when userErrors."
    )


async def load_endpoints(ctx: Context, roots: list[Any]) -> list[list[WebhookEndpointRow]]:
    """Return the business's endpoints (admins and `admin` keys)."""
    return [await webhooks.list_endpoints(ctx) for _ in roots]


async def load_deliveries(
    ctx: Context,
    roots: list[Any],
    *,
    endpoint_id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint.")],
    statuses: Annotated[
        list[WebhookDeliveryStatus] | None,
        strawberry.argument(description="Only these statuses."),
    ] = None,
    first: Annotated[
        int | None, strawberry.argument(description="At most this many (0..100, default 100).")
    ] = None,
) -> list[list[DeliveryOfEventRow]]:
    """Return an endpoint's deliveries, newest first."""
    wanted = None if statuses is None else [s.name for s in statuses]
    return [await webhooks.list_deliveries(ctx, endpoint_id, wanted, first) for _ in roots]


# _changed: a change that shows no secret
_endpoint, _changed = with_secret(
    WebhookEndpoint,
    "endpoint",
    description="Result of a mutation on a webhook endpoint.",
    secret="The signing secret (`whsec_...`), shown only by createWebhookEndpoint and rotateWebhookSecret.",
)
_delivery = outcome(
    WebhookDeliveryPayload, lambda row: WebhookDeliveryPayload(delivery=WebhookDelivery.of(row))
)


EndpointId = Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")]
Types = Annotated[
    list[str] | None,
    strawberry.argument(
        description="Event types to send (`expense.approved`, ...); omit or empty: all."
    ),
]


@strawberry.type(description="Webhooks (admins and `admin` keys).")
class WebhookMutations:
    @_endpoint.mutation(
        "Register an endpoint for the events committed from now on. Its secret is shown once."
    )
    async def create_webhook_endpoint(
        ctx: Context,
        url: Annotated[str, strawberry.argument(description="https URL events are POSTed to.")],
        event_types: Types = None,
        description: Annotated[
            str | None, strawberry.argument(description="What it is for.")
        ] = None,
    ) -> tuple[WebhookEndpointRow, str]:
        changes = webhooks.EndpointChanges(
            url=url, event_types=event_types or [], description=description
        )
        return await webhooks.create_endpoint(ctx, changes)

    @_changed.mutation("Change an endpoint; omitted arguments stay as they are.")
    async def update_webhook_endpoint(
        ctx: Context,
        id: EndpointId,
        url: Annotated[str | None, strawberry.argument(description="New URL.")] = None,
        event_types: Types = None,
        description: Annotated[
            str | None, strawberry.argument(description="New description.")
        ] = None,
        enabled: Annotated[
            bool | None,
            strawberry.argument(description="Enable (its waiting deliveries resume) or disable."),
        ] = None,
    ) -> WebhookEndpointRow:
        changes = webhooks.EndpointChanges(
            url=url, event_types=event_types, description=description, enabled=enabled
        )
        return await webhooks.update_endpoint(ctx, id, changes)

    rotate_webhook_secret = _endpoint.mutation(
        "Give an endpoint a new secret, shown once; the old one also signs for 24 hours.",
        webhooks.rotate_secret,
        id=EndpointId,
    )

    @_changed.mutation("Stop sending to an endpoint (updateWebhookEndpoint enables it again).")
    async def disable_webhook_endpoint(ctx: Context, id: EndpointId) -> WebhookEndpointRow:
        return await webhooks.update_endpoint(ctx, id, webhooks.EndpointChanges(enabled=False))

    redeliver_event = _delivery.mutation(
        "Send an event to an endpoint again, now, with a fresh day of retries.",
        webhooks.redeliver,
        endpoint_id=EndpointId,
        event_id=Annotated[strawberry.ID, strawberry.argument(description="The event's id.")],
    )
