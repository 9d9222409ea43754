"""Card issuing and controls, and API key mutations. Business-rule failures are userErrors."""

from datetime import datetime
from typing import Annotated

import strawberry

from db.permissions import Permission
from db.rows import ApiKeyRow, CardRow
from resolvers.context import Context
from resolvers.mutations import api_keys, cards
from resolvers.mutations.cards import NewCard
from schema.card import Card, LimitPeriod
from schema.input_fields import optional
from schema.payloads import MoneyInput, converted, money, one_changed, with_secret

# the one Permission (db/permissions.py) is the GraphQL enum too: the API calls them scopes
strawberry.enum(
    Permission, name="ApiKeyScope", description="What an API key may do; `ADMIN` allows everything."
)
KNOWN_SCOPES = {permission.value: permission for permission in Permission}


@strawberry.type(description="A credential of an integration. Its secret is never shown again.")
class ApiKey:
    row: strawberry.Private[ApiKeyRow]
    id: strawberry.ID = strawberry.field(description="Opaque id (not fetchable with `node`).")
    name: str = strawberry.field(description="Who or what uses the key.")
    prefix: str = strawberry.field(
        description="Public part of the key (`egk_<prefix>_...`), to tell keys apart in logs."
    )
    scopes: list[Permission] = strawberry.field(description="What the key may do.")
    created_at: datetime = strawberry.field(description="When the key was created.")
    last_used_at: datetime | None = strawberry.field(description="When the key was last used.")
    revoked_at: datetime | None = strawberry.field(
        description="When the key was revoked; it fails authentication since."
    )

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> "ApiKey":
        return cls(
            row=row,
            id=strawberry.ID(api_keys.api_key_global_id(row.id)),
            name=row.name,
            prefix=row.prefix,
            # a scope the API does not know grants nothing, so it is not shown
            scopes=[KNOWN_SCOPES[s] for s in row.scopes if s in KNOWN_SCOPES],
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


@strawberry.input(description="A new virtual card.")
class IssueCardInput:
    holder_id: strawberry.ID = strawberry.field(
        description="Member who will hold the card; they must be active."
    )
    team_id: strawberry.ID | None = optional(
        "Team the card's spend is booked to (not archived); omit for none."
    )
    currency: str | None = optional(
        "ISO 4217 code the card is billed in; default: the home currency."
    )
    spend_limit: MoneyInput | None = optional(
        "Limit per period, in the card currency; omit for none."
    )
    limit_period: LimitPeriod | None = optional("Period of the limit; required with a limit.")


_card = one_changed(Card, "card")
_key, _revoked = with_secret(
    ApiKey,
    "api_key",
    what="key",
    description="Result of a mutation on one API key.",
    secret="The full key, for `Authorization: Bearer`: returned once by createApiKey, never again.",
)


CardId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the card.")]


@strawberry.type(description="Card controls.")
class CardMutations:
    freeze_card = _card.mutation(
        "Freeze an ACTIVE card (admins, finance, the team's manager, `cards:write` keys).",
        cards.freeze_card,
        id=CardId,
    )
    unfreeze_card = _card.mutation(
        "Make a FROZEN card ACTIVE again (same actors as freezeCard).",
        cards.unfreeze_card,
        id=CardId,
    )

    @_card.mutation(
        "Set the card's spend limit and its period together, or pass neither to remove the limit (same actors as freezeCard)."
    )
    async def set_card_spend_limit(
        ctx: Context,
        id: CardId,
        limit: Annotated[
            MoneyInput | None,
            strawberry.argument(
                description="Limit per period, in the card currency; null removes it."
            ),
        ] = None,
        period: Annotated[
            LimitPeriod | None,
            strawberry.argument(description="Period of the limit; null with a null limit."),
        ] = None,
    ) -> CardRow:
        value = period.value if period is not None else None
        return await cards.set_spend_limit(ctx, id, money(limit), value)

    @_card.mutation(
        "Issue an ACTIVE virtual card to an active member (admins, finance, `cards:write` keys)."
    )
    async def issue_card(
        ctx: Context,
        input: Annotated[IssueCardInput, strawberry.argument(description="The card.")],
    ) -> CardRow:
        return await cards.issue_card(ctx, converted(input, NewCard))

    cancel_card = _card.mutation(
        "Cancel a card for good: it can never be used, unfrozen or changed again (admins, finance, `cards:write` keys).",
        cards.cancel_card,
        id=CardId,
    )


@strawberry.type(description="API keys of the business (admins).")
class ApiKeyMutations:
    @_key.mutation(
        "Create an API key; the payload's secret is the only time the full key is shown."
    )
    async def create_api_key(
        ctx: Context,
        name: Annotated[str, strawberry.argument(description="Who or what will use the key.")],
        scopes: Annotated[
            list[Permission],
            strawberry.argument(description="What the key may do (at least one)."),
        ],
    ) -> tuple[ApiKeyRow, str | None]:
        created = await api_keys.create_api_key(ctx, name, [s.value for s in scopes])
        return created.row, created.secret

    revoke_api_key = _revoked.mutation(
        "Revoke an API key for good: requests with it fail from the next one on.",
        api_keys.revoke_api_key,
        id=Annotated[strawberry.ID, strawberry.argument(description="Id of the API key.")],
    )
