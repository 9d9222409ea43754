"""Per-team figures derived from their members."""

from db.queries.teams import active_member_counts
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
