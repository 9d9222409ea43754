"""Card controls: issue, freeze, unfreeze, spend limits and cancel.

Admins and finance manage every card of the business, a manager the cards booked to a
team they manage, an API key any card if it holds ``cards:write``. Employees cannot,
not even on their own card. Issuing and cancelling (which is final) are for admins,
finance and ``cards:write`` keys only. A card the actor cannot see is NOT_FOUND, like
one that does not exist.
"""

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from db.money import MINOR_UNITS
from db.nodes import CARD
from db.permissions import Permission
from db.roles import WHOLE_BUSINESS_ROLES, Role
from db.rows import CardRow
from db.writes import cards as card_writes
from resolvers.context import Context, Principal
from resolvers.mutations.changes import record_change, require_admin_or_finance
from resolvers.mutations.common import row_id
from resolvers.mutations.money import parse_money
from resolvers.mutations.org_refs import active_member, live_team
from resolvers.mutations.rules import RuleCode, atomic, fail, found


@dataclass(frozen=True)
class NewCard:
    """issueCard's input: global ids, a currency code, the limit as (amount, currency)."""

    holder_id: str
    team_id: str | None = None
    currency: str | None = None  # None: the home currency
    spend_limit: tuple[Decimal, str] | None = None
    limit_period: str | None = None


def _require_card_manager(principal: Principal, card: CardRow, *, team_managers: bool) -> None:
    if principal.kind == "api_key" or principal.role in WHOLE_BUSINESS_ROLES:
        return
    if not team_managers:
        raise fail(RuleCode.FORBIDDEN, "Only an admin or finance may cancel a card.", "id")
    if principal.role == Role.MANAGER and card.team_id in principal.managed_team_ids:
        return
    raise fail(
        RuleCode.FORBIDDEN, "Only an admin, finance or the team's manager may manage cards.", "id"
    )


async def _lock_managed(ctx: Context, global_id: str, *, team_managers: bool = True) -> CardRow:
    """Return the card locked for update if the actor may manage it; else a userError.

    ``team_managers`` False leaves the team's manager out (cancelling).
    """
    principal, loaders = ctx.require()
    id_ = row_id(global_id, "Card")
    found(await loaders.visible(CARD).load(id_), "card")
    card = found(
        await card_writes.locked_card(db=ctx.db, business_id=principal.business_id, card_id=id_),
        "card",
    )
    _require_card_manager(principal, card, team_managers=team_managers)
    if card.status == "CANCELLED":
        raise fail(RuleCode.CARD_CANCELLED, "The card is cancelled; it cannot change.", "id")
    return card


async def _save(ctx: Context, card: CardRow, values: dict[str, Any]) -> CardRow:
    """Update the card and make the request's loaders see the new state."""
    principal, loaders = ctx.require()
    row = await card_writes.update_card(
        db=ctx.db, business_id=principal.business_id, card_id=card.id, values=values
    )
    loaders.changed(CARD, row.id, row)
    loaders.card_spend.clear(row.id)
    return row


async def _move(ctx: Context, global_id: str, *, source: str, target: str, verb: str) -> CardRow:
    ctx.require(Permission.CARDS_WRITE)
    async with atomic(ctx):
        card = await _lock_managed(ctx, global_id)
        if card.status != source:
            raise fail(
                RuleCode.INVALID_TRANSITION, f"Cannot {verb} a card that is {card.status}.", "id"
            )
        row = await _save(ctx, card, {"status": target})
        await record_change(
            ctx, object_type="Card", object_id=row.id, action="FROZEN" if target == "FROZEN"
            else "UNFROZEN", details={"from": source, "to": target},
        )  # fmt: skip
        return row


async def freeze_card(ctx: Context, global_id: str) -> CardRow:
    """Freeze an ACTIVE card (it can be unfrozen) and return it."""
    return await _move(ctx, global_id, source="ACTIVE", target="FROZEN", verb="freeze")


async def unfreeze_card(ctx: Context, global_id: str) -> CardRow:
    """Make a FROZEN card ACTIVE again and return it."""
    return await _move(ctx, global_id, source="FROZEN", target="ACTIVE", verb="unfreeze")


async def set_spend_limit(
    ctx: Context, global_id: str, limit: tuple[Decimal, str] | None, period: str | None
) -> CardRow:
    """Set the card's spend limit and its period, or remove both; return the card."""
    ctx.require(Permission.CARDS_WRITE)
    async with atomic(ctx):
        card = await _lock_managed(ctx, global_id)
        values = _limit(limit, period, card.currency, fields=("limit", "period"))
        row = await _save(ctx, card, values)
        before = {"spend_limit_minor": card.spend_limit_minor, "limit_period": card.limit_period}
        await record_change(
            ctx, object_type="Card", object_id=row.id, action="LIMIT_CHANGED",
            details={"from": before, "to": values},
        )  # fmt: skip
        return row


def _limit(
    limit: tuple[Decimal, str] | None, period: str | None, currency: str, *, fields: tuple[str, str]
) -> dict[str, Any]:
    """Return the card columns of a limit and its period (both or neither), or a userError."""
    limit_field, period_field = fields
    if (limit is None) != (period is None):
        raise fail(
            RuleCode.INVALID_VALUE,
            "Give a limit with its period, or neither to remove the limit.",
            period_field if limit is not None else limit_field,
        )
    minor = None
    if limit is not None:
        minor, code = parse_money(*limit, field=limit_field)
        if code != currency:
            raise fail(
                RuleCode.CURRENCY_MISMATCH,
                f"The limit must be in the card's currency, {currency}.",
                f"{limit_field}.currency",
            )
    return {"spend_limit_minor": minor, "limit_period": period}


async def cancel_card(ctx: Context, global_id: str) -> CardRow:
    """Cancel an ACTIVE or FROZEN card for good (admins, finance, keys); return it."""
    ctx.require(Permission.CARDS_WRITE)
    async with atomic(ctx):
        card = await _lock_managed(ctx, global_id, team_managers=False)
        row = await _save(ctx, card, {"status": "CANCELLED"})
        await record_change(
            ctx, object_type="Card", object_id=row.id, action="CANCELLED",
            details={"previousStatus": card.status},
        )  # fmt: skip
        return row


async def _team(ctx: Context, global_id: str | None) -> int | None:
    """Return the row id of the live team the card is booked to, share-locked; or None."""
    if global_id is None:
        return None
    team = await live_team(ctx, row_id(global_id, "Team", "teamId"), "The team is archived.")
    return int(team.id)


def _currency(value: str | None, home: str) -> str:
    if value is None:
        return home
    code = value.strip().upper()
    if code not in MINOR_UNITS:
        raise fail(RuleCode.UNKNOWN_CURRENCY, f"Unknown currency {value[:8]!r}.", "currency")
    return code


async def issue_card(ctx: Context, new: NewCard) -> CardRow:
    """Issue an ACTIVE virtual card to an active member; return it."""
    principal = require_admin_or_finance(
        ctx, key_permission=Permission.CARDS_WRITE, what="issue cards"
    )
    async with atomic(ctx):
        holder = await active_member(ctx, new.holder_id, "holderId")
        team_id = await _team(ctx, new.team_id)
        currency = _currency(new.currency, principal.home_currency)
        limit = _limit(
            new.spend_limit, new.limit_period, currency, fields=("spendLimit", "limitPeriod")
        )
        values = {
            "holder_id": holder.id, "team_id": team_id, "kind": "VIRTUAL", "status": "ACTIVE",
            "currency": currency, "last4": f"{secrets.randbelow(10_000):04d}", **limit,
        }  # fmt: skip
        row = await card_writes.insert_card(
            db=ctx.db, business_id=principal.business_id, values=values
        )
        await record_change(
            ctx, object_type="Card", object_id=row.id, action="ISSUED",
            details={"holderId": holder.id, "teamId": team_id, "currency": currency,
                     "spendLimitMinor": limit["spend_limit_minor"],
                     "limitPeriod": limit["limit_period"]},
        )  # fmt: skip
        _, loaders = ctx.require()
        loaders.changed(CARD, row.id, row)
        loaders.cards_by_holder.clear(holder.id)
        return row
