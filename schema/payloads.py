"""What every mutation shares: its userErrors and their codes, the MoneyInput it may take,
and how it is declared and answers (:class:`Outcome`; the payloads of one changed object,
``CardPayload`` and the like, are made by :func:`one_changed` and :func:`with_secret`)."""

from collections.abc import Awaitable, Callable
from dataclasses import fields
from decimal import Decimal
from enum import Enum
from inspect import Parameter, signature
from typing import Annotated, Any, Generic, TypeVar, dataclass_transform, overload

import strawberry
from strawberry.types.field import StrawberryField

from resolvers.context import Context
from resolvers.mutations.rules import RuleCode, RuleError
from schema.fields import Info, resolver_signature

T = TypeVar("T")
P = TypeVar("P")  # a payload type

# the argument of an update mutation: `input: Changes[UpdateTeamInput]`
Changes = Annotated[T, strawberry.argument(description="The changes.")]

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


def money(given: MoneyInput | None) -> tuple[Decimal, str] | None:
    """Return a MoneyInput as the use cases take it: (amount, currency), or None."""
    return (given.amount, given.currency) if given is not None else None


def converted(data: Any, into: Callable[..., T]) -> T:
    """Return an input as its use case takes it, ``into(**values)``: each of the input's
    fields under its own name, a MoneyInput as :func:`money` makes it, an enum as its value.

    A field the use case lacks fails at once (``into`` raises TypeError), so the two cannot
    drift apart; fields of ``into`` the input lacks keep their defaults. An input with
    fields that may be omitted (``strawberry.UNSET``) is read with :func:`given` instead.
    """
    return into(**{field.name: _plain(getattr(data, field.name)) for field in fields(data)})


def _plain(value: object) -> object:
    if isinstance(value, MoneyInput):
        return money(value)
    return value.value if isinstance(value, Enum) else value


def given(value: T | None) -> tuple[T | None, bool]:
    """Return an input field that may be omitted (``strawberry.UNSET``) as its value, None
    when omitted, and whether it was given (null is given: it clears)."""
    return (None, False) if value is strawberry.UNSET else (value, True)


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


class Outcome(Generic[P]):
    """How mutations answer with one payload type: ``made`` of what the use case returns,
    or only the userErrors of the rule the use case broke (nothing changed)."""

    def __init__(self, payload: Callable[..., P], made: Callable[[Any], P]) -> None:
        self.payload = payload
        self.made = made

    async def __call__(self, action: Callable[[], Awaitable[Any]]) -> P:
        try:
            value = await action()
        except RuleError as error:
            return self.payload(user_errors=user_errors(error))
        return self.made(value)

    @overload
    def mutation(self, description: str) -> Callable[[Callable[..., Awaitable[Any]]], Any]: ...
    @overload
    def mutation(
        self, description: str, use_case: Callable[..., Awaitable[Any]], **arguments: object
    ) -> Any: ...
    def mutation(
        self,
        description: str,
        use_case: Callable[..., Awaitable[Any]] | None = None,
        **arguments: object,
    ) -> Any:
        """Declare a mutation answering with this payload.

        With ``use_case``, the mutation hands its ``arguments`` (each name and annotation,
        in the order the use case takes them) to it as they come: ``use_case(context, *values)``.
        Without, it decorates ``action(context, **arguments)``, whose parameters after the
        context are the mutation's arguments: an action that converts them first.
        """
        if use_case is None:
            return lambda action: self._declare(description, action, _after_first(action))
        names = list(arguments)

        def hand_on(ctx: Context, **values: Any) -> Awaitable[Any]:
            return use_case(ctx, *(values[name] for name in names))

        parameters = [
            Parameter(n, Parameter.KEYWORD_ONLY, annotation=a) for n, a in arguments.items()
        ]
        return self._declare(description, hand_on, parameters)

    def _declare(
        self, description: str, action: Callable[..., Awaitable[Any]], parameters: list[Parameter]
    ) -> Any:
        async def resolve(_: Any, info: Info, **values: Any) -> P:
            return await self(lambda: action(info.context, **values))

        payload_type: Any = self.payload  # a strawberry type
        # strawberry reads the GraphQL arguments and type from the signature
        resolve.__signature__ = resolver_signature(  # type: ignore[attr-defined]
            parameters, returns=payload_type | None
        )
        return strawberry.mutation(resolve, description=description)


def _after_first(action: Callable[..., Any]) -> list[Parameter]:
    return list(signature(action).parameters.values())[1:]


def outcome(payload: Callable[..., P], made: Callable[[Any], P]) -> Outcome[P]:
    """Return how a mutation answers with ``payload`` (:class:`Outcome`)."""
    return Outcome(payload, made)


def one_changed(node: Any, field: str, description: str | None = None) -> Outcome[Any]:
    """Return how mutations on one ``node`` answer: ``<Node>Payload``, its ``field`` changed."""
    return _holding(_node_payload(node, field, field, description), node, field)


def with_secret(
    node: Any, field: str, *, what: str | None = None, description: str, secret: str
) -> tuple[Outcome[Any], Outcome[Any]]:
    """Return how mutations on one ``node`` answer with its new secret, and without one."""
    payload_type = _node_payload(node, field, what or field, description, secret)

    def shown(made: tuple[Any, str | None]) -> Any:
        row, new_secret = made
        return payload_type(**{field: node.from_row(row)}, secret=new_secret)

    return Outcome(payload_type, shown), _holding(payload_type, node, field)


def _holding(payload_type: Any, node: Any, field: str) -> Outcome[Any]:
    return Outcome(payload_type, lambda row: payload_type(**{field: node.from_row(row)}))


def _node_payload(
    node: Any, field: str, what: str, description: str | None, secret: str | None = None
) -> Any:
    # strawberry reads the annotations when the class is made; its name is the SDL's
    annotations: dict[str, Any] = {field: node | None}
    body: dict[str, Any] = {field: changed(what)}
    if secret is not None:  # shown once, by the mutation that makes it
        annotations["secret"] = str | None
        body["secret"] = strawberry.field(default=None, description=secret)
    declare = payload(description or f"Result of a mutation on one {what}.")
    return declare(type(f"{node.__name__}Payload", (), {"__annotations__": annotations, **body}))
