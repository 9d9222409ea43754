"""The change feed: Event, who made it, and the page type of ``Query.events``."""

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from db.rows import EventRow
from resolvers.context import Context
from resolvers.events import (
    actor_kind,
    event_global_id,
    list_events,
    object_global_id,
    transition_of,
)
from resolvers.mutations.api_keys import api_key_global_id
from resolvers.paging import PageResult, encode_cursor
from schema.base import Edge, PageInfo, edges_of, page_info_of
from schema.fields import Sourced, column, fetched, reference
from schema.input_fields import optional
from schema.member import Member


@strawberry.enum(description="Who made a change.")
class ActorKind(Enum):
    MEMBER = "MEMBER"
    API_KEY = "API_KEY"
    SYSTEM = strawberry.enum_value("SYSTEM", description="The worker or the command line.")


def _kind(row: EventRow) -> ActorKind:
    return ActorKind(actor_kind(row))


@strawberry.type(description="Who made a change: a member, an API key, or the system.")
class EventActor(Sourced):
    row: strawberry.Private[EventRow]  # the event's
    kind: ActorKind = column(_kind, description="A member, an API key, or the system.")
    member: Member | None = reference(
        "members", "actor_member_id", description="The member; null for API keys and the system."
    )
    api_key_id: strawberry.ID | None = column(
        lambda row: (
            None if row.actor_api_key_id is None else api_key_global_id(row.actor_api_key_id)
        ),
        description="The API key's id (as `apiKeys` lists it); null for members and the system.",
    )


@strawberry.type(description="A status move: where the object was, and where it is now.")
class Transition:
    from_: str = strawberry.field(name="from", description="The status before.")
    to: str = strawberry.field(description="The status after.")


def _transition(row: EventRow) -> Transition | None:
    move = transition_of(row)
    return None if move is None else Transition(from_=move[0], to=move[1])


@strawberry.type(
    description="One committed change. Its `cursor` resumes the feed right after it: `events(after:)`."
)
class Event(Sourced):
    row: strawberry.Private[EventRow]
    id: strawberry.ID = column(
        lambda row: strawberry.ID(event_global_id(row.id)),
        description="Opaque id: the same event always has the same one (receivers de-duplicate by it).",
    )
    cursor: str = column(
        lambda row: encode_cursor("tx", row),
        description="Pass as `events(after:)` to read what committed after this event.",
    )
    type: str = column(
        "type",
        description="What happened, `<object>.<change>` in lower case: `expense.approved`, `receipt.matched`, `card.frozen`... (README, Events).",
    )
    occurred_at: datetime = column("occurred_at", description="When it was written.")
    actor: EventActor = column(lambda row: row, description="Who made the change.")
    object_type: str = column(
        "object_type",
        description="The changed object's type: Expense, Receipt, Card...",
    )
    object_id: strawberry.ID = column(
        lambda row: strawberry.ID(object_global_id(row)),
        description="The changed object's global id (a deleted expense's too).",
    )
    transition: Transition | None = column(
        _transition, description="The status move, for changes that move one; else null."
    )
    changed_fields: list[str] = column(
        lambda row: list((row.data or {}).get("fields", [])),
        description="The fields an update changed (API names); empty for other changes.",
    )


@strawberry.type(description="A page of the change feed, oldest first.")
class EventConnection(Sourced):
    row: strawberry.Private[PageResult]
    edges: list[Edge[Event]] = fetched(edges_of, description="The events with their cursors.")
    nodes: list[Event] = column("rows", description="The events of this page.")
    page_info: PageInfo = column(
        page_info_of,
        description="`hasNextPage` false: nothing more has committed yet; read again after `endCursor`.",
    )


@strawberry.input(description="Narrows the feed. All given conditions must hold.")
class EventFilter:
    types: list[str] | None = optional("Any of these event types (`expense.approved`, ...).")
    object_ids: list[strawberry.ID] | None = optional(
        "About any of these objects (global ids, at most 100)."
    )
    occurred_after: datetime | None = optional("Written after this instant (with offset).")


EventAfter = Annotated[
    str | None,
    strawberry.argument(
        description="The cursor of the last event read; omit to start at the oldest kept."
    ),
]
EventFirst = Annotated[
    int | None, strawberry.argument(description="Page size (0..100, default 20).")
]
EventFilterArg = Annotated[
    EventFilter | None, strawberry.argument(description="Conditions the events must meet.")
]


async def load_events(
    ctx: Context,
    roots: list[Any],
    *,
    after: EventAfter = None,
    first: EventFirst = None,
    filter: EventFilterArg = None,
) -> list[PageResult]:
    """Return the feed's page for each root (one: the query root)."""
    return [await list_events(ctx, after=after, first=first, filter_=filter) for _ in roots]


@strawberry.type(
    description="Live updates, over graphql-transport-ws on /graphql (README, Events)."
)
class Subscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]  # strawberry types it Any
        description=(
            "Every event the caller may see after `after` (omit: from now on), then each new "
            "one as it commits. Reconnect with the last `cursor` received to miss nothing."
        )
    )
    async def events(
        self,
        info: strawberry.Info[Any, None],
        after: EventAfter = None,
        types: Annotated[
            list[str] | None, strawberry.argument(description="Only these event types.")
        ] = None,
    ) -> AsyncGenerator[Event, None]:
        async for row in info.context.stream(after=after, types=types):
            yield Event.of(row)
