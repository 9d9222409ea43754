"""Setting up the organisation: teams, members and the business's settings (admins only).

Business-rule failures are userErrors and change nothing; an API key needs the ``admin``
scope (a top-level FORBIDDEN otherwise). Every change writes one audit event.
"""

from typing import Annotated

import strawberry

from db.rows import BusinessRow, MemberRow, TeamRow
from resolvers.context import Context
from resolvers.mutations import business, members, teams
from schema.business import Business
from schema.input_fields import optional
from schema.member import Member, Role
from schema.payloads import Changes, converted, given, one_changed
from schema.team import Team


@strawberry.input(description="A new team.")
class CreateTeamInput:
    name: str = strawberry.field(
        description="Team name, unique in the business (1 to 200 characters)."
    )
    manager_id: strawberry.ID | None = optional(
        "Member who approves the team's expenses: active, and not an EMPLOYEE."
    )


@strawberry.input(description="Changes to a team; omitted fields stay as they are.")
class UpdateTeamInput:
    name: str | None = optional("New name.")
    manager_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="New manager (active, not an EMPLOYEE); null leaves the team without one. Not on an archived team.",
    )


@strawberry.input(description="A new member of the business.")
class AddMemberInput:
    email: str = strawberry.field(
        description="Work email, stored in lower case; unique in the business for good."
    )
    name: str = strawberry.field(description="Full name.")
    role: Role = strawberry.field(description="What the member may see and do.")
    team_id: strawberry.ID | None = optional("Team to join (not an archived one).")


@strawberry.input(description="Changes to a member; omitted fields stay as they are.")
class UpdateMemberInput:
    role: Role | None = optional(
        "New role. The last active admin keeps ADMIN; an EMPLOYEE no longer manages teams."
    )
    team_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="New team (not an archived one); null takes the member out of their team.",
    )


@strawberry.input(
    description="Changes to the business's settings; omitted fields stay as they are."
)
class UpdateBusinessInput:
    name: str | None = optional("New business name.")
    timezone: str | None = optional(
        "New IANA time zone (Europe/London); day and month totals follow it at once."
    )


_team = one_changed(Team, "team")
_member = one_changed(Member, "member")
_business = one_changed(Business, "business", "Result of a change to the business's settings.")


TeamId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the team.")]
MemberId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the member.")]


@strawberry.type(description="Teams, members and the business's settings (admins).")
class OrganisationMutations:
    @_team.mutation("Create a team (admins and `admin` keys).")
    async def create_team(
        ctx: Context,
        input: Annotated[CreateTeamInput, strawberry.argument(description="The team.")],
    ) -> TeamRow:
        return await teams.create_team(ctx, input.name, input.manager_id)

    @_team.mutation("Rename a team or change its manager (admins and `admin` keys).")
    async def update_team(ctx: Context, id: TeamId, input: Changes[UpdateTeamInput]) -> TeamRow:
        manager, set_manager = given(input.manager_id)
        changes = teams.TeamChanges(name=input.name, manager_id=manager, set_manager=set_manager)
        return await teams.update_team(ctx, id, changes)

    archive_team = _team.mutation(
        "Archive a team for good: it keeps its members, cards and expenses but takes no new members or manager; archiving twice is INVALID_TRANSITION (admins and `admin` keys).",
        teams.archive_team,
        id=TeamId,
    )

    @_member.mutation(
        "Add a member; an email already in the business, even a deactivated member's, is DUPLICATE (admins and `admin` keys)."
    )
    async def add_member(
        ctx: Context,
        input: Annotated[AddMemberInput, strawberry.argument(description="The member.")],
    ) -> MemberRow:
        return await members.add_member(
            ctx, input.email, input.name, input.role.value, input.team_id
        )

    @_member.mutation(
        "Change a member's role or team; the last active admin cannot stop being one (admins and `admin` keys)."
    )
    async def update_member(
        ctx: Context, id: MemberId, input: Changes[UpdateMemberInput]
    ) -> MemberRow:
        team, set_team = given(input.team_id)
        role = input.role.value if input.role is not None else None
        changes = members.MemberChanges(role=role, team_id=team, set_team=set_team)
        return await members.update_member(ctx, id, changes)

    deactivate_member = _member.mutation(
        "Deactivate a member for good: their tokens stop at once, their history stays, the teams they managed lose their manager; not the last active admin (admins and `admin` keys).",
        members.deactivate_member,
        id=MemberId,
    )

    @_business.mutation("Rename the business or change its time zone (admins and `admin` keys).")
    async def update_business(ctx: Context, input: Changes[UpdateBusinessInput]) -> BusinessRow:
        return await business.update_business(ctx, converted(input, business.BusinessChanges))
