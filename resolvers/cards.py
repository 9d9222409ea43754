"""Figures of a card that come from its expenses."""

from collections.abc import Sequence

from db.rows import CardRow
from resolvers.context import Context


async def spent_this_period(ctx: Context, cards: Sequence[CardRow]) -> list[int | None]:
    """Return minor units each card spent in its current limit period; None without a limit.

    Like the limit itself, readable wherever the card is (an expense's card included).
    """
    _, loaders = ctx.require()
    limited = [card.id for card in cards if card.limit_period is not None]
    spent = dict(zip(limited, await loaders.card_spend.load_all(limited), strict=True))
    return [spent.get(card.id) for card in cards]
