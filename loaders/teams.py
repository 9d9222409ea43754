"""Per-team figures derived from their members."""

from collections.abc import Sequence
from typing import Any

from db.queries.teams import active_member_counts, counts_of, keyed_member_counts
from db.sent_together import Following
from loaders.base import TenantLoader, ordered


class ActiveMemberCountByTeamLoader(TenantLoader[int, int]):
    """How many active (not deactivated) members each team has.

    One grouped statement per batch. Only the tenant filter applies: the size of a team
    the viewer already sees, whoever its members are.
    """

    async def batch_load_fn(self, keys: list[int]) -> list[int]:
        counts = await active_member_counts(
            db=self.db, business_id=self.visibility.business_id, team_ids=keys
        )
        return ordered(counts, keys, 0)

    def following(self, table: str, column: str) -> Following | None:
        """Return this loader's batch, its team ids ``column`` of a read of ``table``
        (db/sent_together.py)."""
        read = keyed_member_counts(business_id=self.visibility.business_id)

        def counts(rows: Sequence[Any], team_ids: list[int]) -> dict[int, int]:
            return dict(zip(team_ids, ordered(counts_of(rows), team_ids, 0), strict=True))

        return self.followed(table, column, read, counts)
