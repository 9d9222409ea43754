"""The change feed as the API serves it: the events a caller may see, after a cursor."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.nodes import NODE_TYPES, NODES
from db.permissions import Permission
from db.writes import events
from resolvers.context import Context, Principal
from resolvers.errors import bad_input
from resolvers.ids import decode_id, encode_id, urlsafe_b64
from resolvers.mutations.api_keys import api_key_global_id
from resolvers.mutations.policies import policy_global_id
from resolvers.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageResult, decode_cursor

# the API key permission an object type's events need (None: any credential of the business);
# a node type's events need what reads the node (db/nodes.py)
EVENT_PERMISSIONS: dict[str, Permission | None] = {
    **{node.name: node.read_permission for node in NODES},
    "Policy": Permission.EXPENSES_READ,
    "ApiKey": Permission.ADMIN,
    "WebhookEndpoint": Permission.ADMIN,
}
MAX_FILTER_IDS = 100


@dataclass(frozen=True)
class EventFilterLike:
    """The fields of the GraphQL EventFilter the resolver reads."""

    types: Sequence[str] | None = None
    object_ids: Sequence[str] | None = None
    occurred_after: datetime | None = None


def readable_types(principal: Principal) -> list[str]:
    """Return the object types whose events the principal's credential may read."""
    return [
        kind
        for kind, permission in EVENT_PERMISSIONS.items()
        if permission is None or principal.allows(permission)
    ]


async def list_events(
    ctx: Context, *, after: str | None, first: int | None, filter_: Any
) -> PageResult:
    """Return a page of the feed after ``after``, oldest first, as the caller sees it."""
    principal, loaders = ctx.require()
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise bad_input(f"'first' must be between 0 and {MAX_PAGE_SIZE}.", field="first")
    cursor = decode_cursor(after, "tx", field="after") if after is not None else None
    found = _feed_filter(filter_)
    rows = await events.feed(
        db=ctx.db,
        visibility=loaders.visibility,
        object_types=readable_types(principal),
        after=cursor,
        limit=size + 1,
        filter_=found,
    )

    async def count() -> int:
        raise bad_input("The feed has no total count: page it with after.", field="totalCount")

    return PageResult(rows[:size], "tx", len(rows) > size, cursor is not None, count)


def _feed_filter(filter_: Any) -> events.FeedFilter:
    if filter_ is None:
        return events.FeedFilter()
    objects = None
    if filter_.object_ids is not None:
        if len(filter_.object_ids) > MAX_FILTER_IDS:
            raise bad_input(f"At most {MAX_FILTER_IDS} ids.", field="objectIds")
        objects = [decode_id(global_id) for global_id in filter_.object_ids]
    types = None if filter_.types is None else list(filter_.types)
    return events.FeedFilter(types=types, objects=objects, occurred_after=filter_.occurred_after)


# what an event row says, as Query.events, subscriptions and webhook bodies all show it


def event_global_id(event_id: int) -> str:
    """Return an event's id (``Event.id``, a webhook's ``webhook-id``)."""
    return urlsafe_b64(f"Event:{event_id}".encode())


def object_global_id(row: Any) -> str:
    """Return the changed object's global id."""
    if row.object_type in NODE_TYPES:
        return encode_id(row.object_type, row.object_id)
    if row.object_type == "Policy":
        return policy_global_id(row.object_id)
    if row.object_type == "ApiKey":
        return api_key_global_id(row.object_id)
    return encode_id(row.object_type, row.object_id)  # WebhookEndpoint


def transition_of(row: Any) -> tuple[str, str] | None:
    """Return (from, to) of a status move, or None."""
    data = row.data or {}
    before, after = data.get("from"), data.get("to")
    return (before, after) if isinstance(before, str) and isinstance(after, str) else None


def actor_kind(row: Any) -> str:
    """Return who made the change: MEMBER, API_KEY or SYSTEM."""
    if row.actor_member_id is not None:
        return "MEMBER"
    return "API_KEY" if row.actor_api_key_id is not None else "SYSTEM"
