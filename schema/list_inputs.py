"""The filters of the root card, member and receipt lists, and the list specs they become."""

from typing import Any

import strawberry

from db.queries.lists import ListSpec
from resolvers.ids import decode_ids_of
from schema.card import CardKind, CardStatus
from schema.input_fields import optional
from schema.member import Role  # db/roles.py, registered as the GraphQL enum there
from schema.receipt import ReceiptProcessing


@strawberry.input(description="Narrows the card list.")
class CardFilter:
    statuses: list[CardStatus] | None = optional("Any of these statuses.")
    kinds: list[CardKind] | None = optional("Any of these kinds.")
    holder_ids: list[strawberry.ID] | None = optional("Held by any of these members.")
    team_ids: list[strawberry.ID] | None = optional("Booked to any of these teams.")


@strawberry.input(description="Narrows the member list.")
class MemberFilter:
    roles: list[Role] | None = optional("Any of these roles.")
    team_ids: list[strawberry.ID] | None = optional("In any of these teams.")


@strawberry.input(description="Narrows the receipt list.")
class ReceiptFilter:
    matched: bool | None = optional("Attached to an expense (true) or not yet (false).")
    processing: list[ReceiptProcessing] | None = optional(
        "In any of these processing states (the inbox: matched false, DONE and FAILED)."
    )


def _values(items: list[Any] | None) -> tuple[str, ...] | None:
    return None if items is None else tuple(item.value for item in items)


def card_spec(filter: CardFilter) -> ListSpec:
    """Return the list query's spec of a CardFilter."""
    return ListSpec(
        statuses=_values(filter.statuses),
        kinds=_values(filter.kinds),
        holder_ids=decode_ids_of("Member", filter.holder_ids, field="holderIds"),
        team_ids=decode_ids_of("Team", filter.team_ids, field="teamIds"),
    )


def member_spec(filter: MemberFilter) -> ListSpec:
    """Return the list query's spec of a MemberFilter."""
    return ListSpec(
        roles=_values(filter.roles),
        team_ids=decode_ids_of("Team", filter.team_ids, field="teamIds"),
    )


def receipt_spec(filter: ReceiptFilter) -> ListSpec:
    """Return the list query's spec of a ReceiptFilter."""
    return ListSpec(matched=filter.matched, processing=_values(filter.processing))
