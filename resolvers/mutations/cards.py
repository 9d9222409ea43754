"""Card controls: freeze, unfreeze and spend limits.

Admins and finance manage every card of the business, a manager the cards booked to a
team they manage, an API key any card if it holds ``cards:write``. Employees cannot,
not even on their own card. A card the actor cannot see is NOT_FOUND, like one that
does not exist.
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import Row

from db import card_writes
from resolvers.context import Context, Principal
from resolvers.errors import DomainError
from resolvers.ids import decode_id
from resolvers.mutations.money import parse_money
from resolvers.mutations.rules import RuleCode, atomic, fail

CARD_MANAGERS = ("ADMIN", "FINANCE")


def card_id(global_id: str, *, field: str = "id") -> int:
    """Return the row id of a Card global id; a malformed or foreign-type id is NOT_FOUND."""
    try:
        type_name, id_ = decode_id(global_id)
    except DomainError:
        type_name, id_ = "", 0
    if type_name != "Card":
        raise fail(RuleCode.NOT_FOUND, "No card with that id.", field)
    return id_


def _require_card_manager(principal: Principal, card: Row[Any]) -> None:
    if principal.kind == "api_key" or principal.role in CARD_MANAGERS:
        return
    if principal.role == "MANAGER" and card.team_id in principal.managed_team_ids:
        return
    raise fail(
        RuleCode.FORBIDDEN, "Only an admin, finance or the team's manager may manage cards.", "id"
    )


async def _lock_managed(ctx: Context, global_id: str) -> Row[Any]:
    """Return the card locked for update if the actor may manage it; else a userError."""
    principal, loaders = ctx.require()
    id_ = card_id(global_id)
    if await loaders.visible("cards").load(id_) is None:
        raise fail(RuleCode.NOT_FOUND, "No card with that id.", "id")
    card = await card_writes.locked_card(db=ctx.db, business_id=principal.business_id, card_id=id_)
    if card is None:
        raise fail(RuleCode.NOT_FOUND, "No card with that id.", "id")
    _require_card_manager(principal, card)
    if card.status == "CANCELLED":
        raise fail(RuleCode.CARD_CANCELLED, "The card is cancelled; it cannot change.", "id")
    return card


async def _save(ctx: Context, card: Row[Any], values: dict[str, Any]) -> Row[Any]:
    """Update the card and make the request's loaders see the new state."""
    principal, loaders = ctx.require()
    row = await card_writes.update_card(
        db=ctx.db, business_id=principal.business_id, card_id=card.id, values=values
    )
    for loader in (loaders.ref("cards"), loaders.visible("cards")):
        loader.clear(row.id).prime(row.id, row)
    loaders.card_spend.clear(row.id)
    return row


async def _move(ctx: Context, global_id: str, *, source: str, target: str, verb: str) -> Row[Any]:
    ctx.require("cards:write")
    async with atomic(ctx):
        card = await _lock_managed(ctx, global_id)
        if card.status != source:
            raise fail(
                RuleCode.INVALID_TRANSITION, f"Cannot {verb} a card that is {card.status}.", "id"
            )
        return await _save(ctx, card, {"status": target})


async def freeze_card(ctx: Context, global_id: str) -> Row[Any]:
    """Freeze an ACTIVE card (it can be unfrozen) and return it."""
    return await _move(ctx, global_id, source="ACTIVE", target="FROZEN", verb="freeze")


async def unfreeze_card(ctx: Context, global_id: str) -> Row[Any]:
    """Make a FROZEN card ACTIVE again and return it."""
    return await _move(ctx, global_id, source="FROZEN", target="ACTIVE", verb="unfreeze")


async def set_spend_limit(
    ctx: Context, global_id: str, limit: tuple[Decimal, str] | None, period: str | None
) -> Row[Any]:
    """Set the card's spend limit and its period, or remove both; return the card."""
    ctx.require("cards:write")
    async with atomic(ctx):
        card = await _lock_managed(ctx, global_id)
        if (limit is None) != (period is None):
            raise fail(
                RuleCode.INVALID_VALUE,
                "Give a limit with its period, or neither to remove the limit.",
                "period" if limit is not None else "limit",
            )
        minor = None
        if limit is not None:
            minor, currency = parse_money(*limit, field="limit")
            if currency != card.currency:
                raise fail(
                    RuleCode.CURRENCY_MISMATCH,
                    f"The limit must be in the card's currency, {card.currency}.",
                    "limit.currency",
                )
        return await _save(ctx, card, {"spend_limit_minor": minor, "limit_period": period})
