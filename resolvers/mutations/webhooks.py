"""Managing webhook endpoints (admins and `admin` keys): register, change, rotate, disable,
read deliveries, deliver an event again. Deliveries themselves: app/webhooks.py."""

import base64
import ipaddress
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from db.permissions import Permission
from db.roles import Role
from db.rows import WebhookEndpointRow
from db.writes import events
from db.writes import webhooks as q
from db.writes.webhooks import DeliveryOfEventRow
from resolvers.context import Context, Principal
from resolvers.errors import DomainError, ErrorCode
from resolvers.ids import encode_id
from resolvers.mutations.common import actor_of, opaque_row_id
from resolvers.mutations.rules import RuleCode, RuleError, atomic, clean_text, fail

ENDPOINT_TYPE = "WebhookEndpoint"
EVENT_TYPE = "Event"
SECRET_OVERLAP = timedelta(hours=24)  # a rotated secret still signs for this long
MAX_URL_CHARS = 2000
MAX_TYPES = 50
MAX_DESCRIPTION = 500
MAX_DELIVERIES = 100
_EVENT_TYPE = re.compile(r"[a-z_]{1,40}\.[a-z_]{1,40}")


@dataclass(frozen=True)
class EndpointChanges:
    """What a mutation sets; None leaves a field as it is."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    description: str | None = None
    enabled: bool | None = None


def endpoint_global_id(id_: int) -> str:
    """Return the opaque id of a webhook endpoint."""
    return encode_id(ENDPOINT_TYPE, id_)


def new_secret() -> str:
    """Return a new signing secret in the Standard Webhooks form (``whsec_`` + base64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def url_refusal(url: str, *, allow_private: bool) -> str | None:
    """Return why ``url`` cannot be an endpoint, or None (its addresses are checked again
    at each delivery: a name may resolve elsewhere later)."""
    if len(url) > MAX_URL_CHARS:
        return f"The URL is longer than {MAX_URL_CHARS} characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        return "The URL is malformed."
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        return "The URL must be https."
    if not parts.hostname or parts.username or parts.password:
        return "The URL needs a host and no credentials."
    if allow_private:
        return None
    if parts.hostname == "localhost" or parts.hostname.endswith(".localhost"):
        return "The URL points at a private address."
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None
    return None if public(address) else "The URL points at a private address."


def public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Return True for an address on the public internet (not loopback, private, link-local,
    the metadata range included, reserved, multicast or unspecified)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
        or address.is_multicast or address.is_unspecified
    )  # fmt: skip


def require_admin(ctx: Context) -> Principal:
    """Return the principal if it may manage webhooks: an admin, or a key with ``admin``.

    Anyone else gets a top-level FORBIDDEN: the endpoints and their secrets are the
    business's, like its API keys.
    """
    principal, _ = ctx.require()
    if principal.kind == "api_key":
        ctx.require(Permission.ADMIN)
    elif principal.role != Role.ADMIN:
        raise DomainError(ErrorCode.FORBIDDEN, "Only an admin may manage webhooks.")
    return principal


def _checked(ctx: Context, changes: EndpointChanges) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if changes.url is not None:
        refusal = url_refusal(changes.url, allow_private=ctx.webhooks_allow_private)
        if refusal is not None:
            raise fail(RuleCode.INVALID_VALUE, refusal, "url")
        values["url"] = changes.url
    if changes.event_types is not None:
        types = list(dict.fromkeys(changes.event_types))
        if len(types) > MAX_TYPES or not all(_EVENT_TYPE.fullmatch(t) for t in types):
            message = f"Give at most {MAX_TYPES} event types such as expense.approved."
            raise fail(RuleCode.INVALID_VALUE, message, "eventTypes")
        values["event_types"] = types
    if changes.description is not None:
        values["description"] = clean_text(
            changes.description, "description", max_length=MAX_DESCRIPTION
        )
    if changes.enabled is not None:
        values["enabled"] = changes.enabled
        values["disabled_reason"] = None if changes.enabled else "disabled by an admin"
        if changes.enabled:
            values["failing_since"] = None
    return values


async def create_endpoint(ctx: Context, changes: EndpointChanges) -> tuple[WebhookEndpointRow, str]:
    """Register an endpoint; return it and its secret (shown this once)."""
    principal = require_admin(ctx)
    values = _checked(ctx, changes)
    if "url" not in values:
        raise fail(RuleCode.INVALID_VALUE, "Give the URL to send events to.", "url")
    secret = new_secret()
    async with atomic(ctx):
        row = await q.create_endpoint(
            db=ctx.db, business_id=principal.business_id, url=values["url"],
            description=values.get("description", ""), event_types=values.get("event_types", []),
            secret=secret,
        )  # fmt: skip
        await _event(ctx, principal, row, "webhook_endpoint.created")
    return row, secret


async def update_endpoint(
    ctx: Context, global_id: str, changes: EndpointChanges
) -> WebhookEndpointRow:
    """Change an endpoint's URL, event types, description or whether it is enabled."""
    principal = require_admin(ctx)
    values = _checked(ctx, changes)
    async with atomic(ctx):
        await _locked(ctx, principal, global_id)
        row = await q.update_endpoint(
            db=ctx.db, business_id=principal.business_id, endpoint_id=_id(global_id), values=values
        )
        await _event(ctx, principal, row, "webhook_endpoint.updated")
    return row


async def rotate_secret(ctx: Context, global_id: str) -> tuple[WebhookEndpointRow, str]:
    """Give an endpoint a new secret; the old one also signs for SECRET_OVERLAP."""
    principal = require_admin(ctx)
    secret = new_secret()
    async with atomic(ctx):
        current = await _locked(ctx, principal, global_id)
        values = {
            "secret": secret,
            "previous_secret": current.secret,
            "previous_secret_until": datetime.now(UTC) + SECRET_OVERLAP,
        }
        row = await q.update_endpoint(
            db=ctx.db, business_id=principal.business_id, endpoint_id=current.id, values=values
        )
        await _event(ctx, principal, row, "webhook_endpoint.secret_rotated")
    return row, secret


async def list_endpoints(ctx: Context) -> list[WebhookEndpointRow]:
    """Return the business's endpoints, oldest first."""
    principal = require_admin(ctx)
    return await q.endpoints(db=ctx.db, business_id=principal.business_id)


async def list_deliveries(
    ctx: Context, endpoint_global_id: str, statuses: Sequence[str] | None, first: int | None
) -> list[DeliveryOfEventRow]:
    """Return an endpoint's deliveries, newest first (an unknown endpoint: NOT_FOUND)."""
    principal = require_admin(ctx)
    limit = MAX_DELIVERIES if first is None else first
    if not 0 <= limit <= MAX_DELIVERIES:
        raise DomainError(ErrorCode.BAD_USER_INPUT, f"'first' must be 0 to {MAX_DELIVERIES}.")
    endpoint_id = _query_id(endpoint_global_id)
    owned = [e.id for e in await q.endpoints(db=ctx.db, business_id=principal.business_id)]
    if endpoint_id not in owned:
        raise DomainError(ErrorCode.NOT_FOUND, "No webhook endpoint with that id.")
    return await q.deliveries(
        db=ctx.db, business_id=principal.business_id, endpoint_id=endpoint_id,
        statuses=statuses, limit=limit,
    )  # fmt: skip


async def redeliver(
    ctx: Context, endpoint_global_id: str, event_global_id: str
) -> DeliveryOfEventRow:
    """Send an event to an endpoint again, now (with a fresh day of retries)."""
    principal = require_admin(ctx)
    event_id = opaque_row_id(event_global_id, EVENT_TYPE, what="event", field="eventId")
    async with atomic(ctx):
        endpoint = await _locked(ctx, principal, endpoint_global_id, field="endpointId")
        if (
            await q.event_row(db=ctx.db, business_id=principal.business_id, event_id=event_id)
            is None
        ):
            raise fail(RuleCode.NOT_FOUND, "No event with that id.", "eventId")
        row = await q.redeliver(
            db=ctx.db, business_id=principal.business_id, endpoint_id=endpoint.id,
            event_id=event_id,
        )  # fmt: skip
        [shown] = await q.deliveries(
            db=ctx.db, business_id=principal.business_id, endpoint_id=endpoint.id,
            statuses=None, limit=1, delivery_id=row.id,
        )  # fmt: skip
        return shown


def _id(global_id: str, field: str = "id") -> int:
    return opaque_row_id(global_id, ENDPOINT_TYPE, what="webhook endpoint", field=field)


def _query_id(global_id: str) -> int:
    """Return the row id of an endpoint id in a query: malformed is BAD_USER_INPUT, as for
    ``node(id:)``; well-formed, it is looked up (an unknown one is NOT_FOUND)."""
    try:
        return _id(global_id, "endpointId")
    except RuleError:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, f"Malformed id {global_id[:40]!r}.", field="endpointId"
        ) from None


async def _locked(
    ctx: Context, principal: Principal, global_id: str, *, field: str = "id"
) -> WebhookEndpointRow:
    found = await q.lock_endpoint(
        db=ctx.db, business_id=principal.business_id, endpoint_id=_id(global_id, field)
    )
    if found is None:
        raise fail(RuleCode.NOT_FOUND, "No webhook endpoint with that id.", field)
    return found


async def _event(ctx: Context, principal: Principal, row: WebhookEndpointRow, type_: str) -> None:
    await events.emit(
        db=ctx.db, business_id=principal.business_id, type=type_, object_type=ENDPOINT_TYPE,
        object_id=row.id, actor=actor_of(principal),
    )  # fmt: skip
