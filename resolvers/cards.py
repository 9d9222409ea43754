"""Figures of a card that come from its expenses."""

from typing import Any

from sqlalchemy import Row

from resolvers.context import Context


async def spent_this_period(ctx: Context, card: Row[Any]) -> int | None:
    """Return minor units the card spent in its current limit period; None without a limit.

    Like the limit itself, readable wherever the card is (an expense's card included).
    """
    if card.limit_period is None:
        return None
    _, loaders = ctx.require()
    return await loaders.card_spend.load(card.id)
