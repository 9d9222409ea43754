"""The root Query type."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from sqlalchemy import Row

from db.lists import ListSpec
from resolvers import nodes as node_resolvers
from resolvers.errors import bad_input
from resolvers.expenses import list_expenses
from resolvers.ids import decode_ids_of
from resolvers.lists import list_rows
from resolvers.summary import DEFAULT_MAX_BUCKETS, summarize
from resolvers.viewer import viewer
from schema.base import After, Before, Connection, First, Info, Last, Node, page_args
from schema.business import Business, Viewer
from schema.card import Card, CardKind, CardStatus
from schema.category import Category
from schema.expense import Expense, FilterArg, OrderArg, ordering
from schema.member import Member, Role
from schema.receipt import Receipt, ReceiptProcessing
from schema.summary import SpendBucket, SpendDimension, TimeInterval
from schema.team import Team

MAX_NODES = 100

WRAPPERS: dict[str, Callable[[Row[Any]], Node]] = {
    "Expense": Expense.from_row,
    "Member": Member.from_row,
    "Team": Team.from_row,
    "Card": Card.from_row,
    "Category": Category.from_row,
    "Receipt": Receipt.from_row,
    "Business": Business.from_row,
}


@strawberry.input(description="Narrows the card list.")
class CardFilter:
    statuses: list[CardStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    kinds: list[CardKind] | None = strawberry.field(default=None, description="Any of these kinds.")
    holder_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Held by any of these members."
    )
    team_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Booked to any of these teams."
    )


@strawberry.input(description="Narrows the member list.")
class MemberFilter:
    roles: list[Role] | None = strawberry.field(default=None, description="Any of these roles.")
    team_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In any of these teams."
    )


@strawberry.input(description="Narrows the receipt list.")
class ReceiptFilter:
    matched: bool | None = strawberry.field(
        default=None, description="Attached to an expense (true) or not yet (false)."
    )
    processing: list[ReceiptProcessing] | None = strawberry.field(
        default=None,
        description="In any of these processing states (the inbox: matched false, DONE and FAILED).",
    )


def _values(items: list[Any] | None) -> tuple[str, ...] | None:
    return None if items is None else tuple(item.value for item in items)


async def _node(info: Info, global_id: str) -> Node:
    type_name, row = await node_resolvers.node(info.context, global_id)
    return WRAPPERS[type_name](row)


@strawberry.type(description="Read access to a business's expenses, cards, teams and receipts.")
class Query:
    @strawberry.field(description="The caller and their business.")
    def viewer(self, info: Info) -> Viewer:
        principal = viewer(info.context)
        return Viewer(
            credential="MEMBER" if principal.kind == "member" else "API_KEY",
            scopes=sorted(principal.scopes),
            member_id=principal.id if principal.kind == "member" else None,
        )

    @strawberry.field(
        description="Any object by global id; NOT_FOUND if it does not exist or is not visible."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id.")],
    ) -> Node | None:
        return await _node(info, id)

    @strawberry.field(
        description="Objects by global id, in order; a missing one is null with a NOT_FOUND error at its index."
    )
    def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Global ids (at most 100).")
        ],
    ) -> list[Node | None]:
        info.context.require()
        if len(ids) > MAX_NODES:
            raise bad_input(f"At most {MAX_NODES} ids.", field="ids")
        awaitables: list[Awaitable[Node]] = [_node(info, id_) for id_ in ids]
        return awaitables  # type: ignore[return-value]  # graphql-core awaits each item

    @strawberry.field(
        description="Expenses the caller may see, newest first unless ordered otherwise."
    )
    async def expenses(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: FilterArg = None, order_by: OrderArg = None,
    ) -> Connection[Expense]:  # fmt: skip
        result = await list_expenses(
            info.context,
            filter_=filter,
            order=ordering(order_by),
            args=page_args(first, after, last, before),
        )
        return Connection.of(result, Expense.from_row)

    @strawberry.field(description="Receipts the caller may see, newest upload first.")
    async def receipts(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: Annotated[ReceiptFilter | None, strawberry.argument(description="Conditions the receipts must meet.")] = None,
    ) -> Connection[Receipt]:  # fmt: skip
        spec = ListSpec(
            matched=filter.matched if filter else None,
            processing=_values(filter.processing) if filter else None,
        )
        result = await list_rows(
            info.context, table="receipts", spec=spec, args=page_args(first, after, last, before)
        )
        return Connection.of(result, Receipt.from_row)

    @strawberry.field(description="Cards the caller may see, oldest first.")
    async def cards(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: Annotated[CardFilter | None, strawberry.argument(description="Conditions the cards must meet.")] = None,
    ) -> Connection[Card]:  # fmt: skip
        info.context.require()  # credentials are checked before the arguments
        spec = ListSpec()
        if filter is not None:
            spec = ListSpec(
                statuses=_values(filter.statuses),
                kinds=_values(filter.kinds),
                holder_ids=decode_ids_of("Member", filter.holder_ids, field="holderIds"),
                team_ids=decode_ids_of("Team", filter.team_ids, field="teamIds"),
            )
        result = await list_rows(
            info.context, table="cards", spec=spec, args=page_args(first, after, last, before)
        )
        return Connection.of(result, Card.from_row)

    @strawberry.field(description="Teams the caller may see, oldest first.")
    async def teams(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Team]:
        result = await list_rows(
            info.context, table="teams", spec=ListSpec(), args=page_args(first, after, last, before)
        )
        return Connection.of(result, Team.from_row)

    @strawberry.field(description="Members the caller may see, oldest first.")
    async def members(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: Annotated[MemberFilter | None, strawberry.argument(description="Conditions the members must meet.")] = None,
    ) -> Connection[Member]:  # fmt: skip
        info.context.require()  # credentials are checked before the arguments
        spec = ListSpec()
        if filter is not None:
            spec = ListSpec(
                roles=_values(filter.roles),
                team_ids=decode_ids_of("Team", filter.team_ids, field="teamIds"),
            )
        result = await list_rows(
            info.context, table="members", spec=spec, args=page_args(first, after, last, before)
        )
        return Connection.of(result, Member.from_row)

    @strawberry.field(
        description="Spend totals in the home currency, grouped by dimensions and optionally by period; same visibility as `expenses`. More buckets than `maxBuckets` is an error (QUERY_TOO_COMPLEX), never a silently cut list."
    )
    async def spend_summary(
        self,
        info: Info,
        group_by: Annotated[
            list[SpendDimension],
            strawberry.argument(
                description="Dimensions to group by (may be empty: one grand total)."
            ),
        ],
        filter: FilterArg = None,
        interval: Annotated[
            TimeInterval | None,
            strawberry.argument(description="Also group by period of this length."),
        ] = None,
        max_buckets: Annotated[
            int,
            strawberry.argument(
                description="At most this many buckets (1 to 5000). The query's cost counts this many, or fewer when `groupBy`, the filter's id lists and `spentAfter`..`spentBefore` allow fewer."
            ),
        ] = DEFAULT_MAX_BUCKETS,
    ) -> list[SpendBucket]:
        buckets = await summarize(
            info.context,
            filter_=filter,
            group_by=[d.value for d in group_by],
            interval=interval.value if interval else None,
            max_buckets=max_buckets,
        )
        return [SpendBucket.of(b) for b in buckets]

    @strawberry.field(description="Bookkeeping categories of the business, oldest first.")
    async def categories(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Category]:
        result = await list_rows(
            info.context,
            table="categories",
            spec=ListSpec(),
            args=page_args(first, after, last, before),
        )
        return Connection.of(result, Category.from_row)
