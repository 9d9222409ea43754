"""Per-card figures derived from their expenses."""

from datetime import UTC, datetime

from db.queries.cards import spend_this_period
from loaders.base import TenantLoader, ordered


class SpendThisPeriodByCardLoader(TenantLoader[int, int | None]):
    """Minor units each card spent in its current limit period (None: no limit period).

    One grouped statement per batch. Only the tenant filter applies: the spend is a
    figure of a card the viewer already sees, whoever's expenses make it up.
    """

    async def batch_load_fn(self, keys: list[int]) -> list[int | None]:
        spent = await spend_this_period(
            db=self.db,
            business_id=self.visibility.business_id,
            card_ids=keys,
            now=datetime.now(UTC),
        )
        return ordered(spent, keys)
