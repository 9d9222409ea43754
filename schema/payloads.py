"""What every mutation shares: its userErrors, their codes, and the MoneyInput it may take."""

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar, dataclass_transform

import strawberry
from strawberry.types.field import StrawberryField

from resolvers.mutations.rules import RuleCode, RuleError

T = TypeVar("T")
P = TypeVar("P")  # a payload type

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


@dataclass_transform(kw_only_default=True, field_specifiers=(strawberry.field, StrawberryField))
def payload(description: str) -> Callable[[type[T]], type[T]]:
    """Declare a mutation's payload type: the fields written in the class, then ``userErrors``.

    Every field needs a default (:func:`changed`): a refused mutation's payload has only
    its userErrors.
    """

    def declare(cls: type[T]) -> type[T]:
        cls.__annotations__["user_errors"] = list[UserError]
        cls.user_errors = strawberry.field(  # type: ignore[attr-defined]
            default_factory=list, description="Empty when the mutation happened."
        )
        return strawberry.type(cls, description=description)

    return declare


def changed(what: str) -> Any:
    """Declare a payload's field holding ``what`` after the change (null when userErrors)."""
    return strawberry.field(
        default=None, description=f"The {what} after the change; null when userErrors."
    )


def outcome(
    payload: Callable[..., P], made: Callable[[Any], P]
) -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[P]]:
    """Return how a mutation answers with ``payload``: ``made`` of what its use case
    returns, or only the userErrors of the rule the use case broke (nothing changed)."""

    async def answer(action: Callable[[], Awaitable[Any]]) -> P:
        try:
            value = await action()
        except RuleError as error:
            return payload(user_errors=user_errors(error))
        return made(value)

    return answer
