"""What every mutation shares: its userErrors, their codes, and the MoneyInput it may take."""

from decimal import Decimal

import strawberry

from resolvers.mutations.rules import RuleCode, RuleError

UserErrorCode = strawberry.enum(
    RuleCode, name="UserErrorCode", description="Stable codes of business-rule failures."
)


@strawberry.input(
    description="An amount of money: a decimal string in major units and an ISO 4217 code."
)
class MoneyInput:
    amount: Decimal = strawberry.field(
        description='Major units, at most the currency\'s decimals ("12.34", "1500").'
    )
    currency: str = strawberry.field(description="ISO 4217 code.")


@strawberry.type(description="Why a mutation did not happen; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(
        description="Input field at fault (`amount.currency`, `ids[2]`), if one is."
    )
    message: str = strawberry.field(description="What is wrong, for people.")
    code: RuleCode = strawberry.field(description="What is wrong, for programs.")


def user_errors(error: RuleError) -> list[UserError]:
    """Return the payload's userErrors for a broken rule."""

    return [UserError(field=e.field, message=e.message, code=e.code) for e in error.errors]
