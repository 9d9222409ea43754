"""Category and policy mutations. Business-rule failures are userErrors, nothing changes."""

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated

import strawberry

from db.rows import PolicyRow
from resolvers.mutations import categories, policies
from resolvers.mutations.categories import CategoryChanges
from resolvers.mutations.policies import PolicyFields
from schema.base import Info
from schema.business import Policy
from schema.category import Category
from schema.payloads import MoneyInput, changed, outcome, payload


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    name: str = strawberry.field(description="Name, unique in the business (1 to 200 characters).")
    gl_code: str | None = strawberry.field(
        default=None,
        description="General-ledger account code, unique in the business; omit for none.",
    )


@strawberry.input(description="Changes to a category; omitted fields stay as they are.")
class UpdateCategoryInput:
    name: str | None = strawberry.field(default=None, description="New name.")
    gl_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="New GL code; null removes it."
    )


@strawberry.input(description="One account of a chart of accounts, keyed by its GL code.")
class CategoryUpsertInput:
    gl_code: str = strawberry.field(description="General-ledger account code: the key.")
    name: str = strawberry.field(description="Name of the category with this code.")


@strawberry.input(description="An expense policy. With `id` it replaces that policy's fields.")
class SetPolicyInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Policy to replace; omit to create one."
    )
    name: str = strawberry.field(description="Name, shown with violations (1 to 200 characters).")
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Category it applies to; omit for every category."
    )
    max_amount: MoneyInput | None = strawberry.field(
        default=None, description="Largest amount of one expense, in the home currency."
    )
    receipt_required_above: MoneyInput | None = strawberry.field(
        default=None,
        description="Amount above which a receipt is required, in the home currency (0: always).",
    )


@payload("Result of a mutation on one category.")
class CategoryPayload:
    category: Category | None = changed("category")


@payload("Result of upsertCategories: all categories written, or none.")
class CategoriesPayload:
    categories: list[Category] = strawberry.field(
        default_factory=list,
        description="The pushed categories in input order; empty when userErrors.",
    )


@payload("Result of a mutation on one policy.")
class PolicyPayload:
    policy: Policy | None = changed("policy")


_category = outcome(CategoryPayload, lambda row: CategoryPayload(category=Category.from_row(row)))
_categories = outcome(
    CategoriesPayload,
    lambda rows: CategoriesPayload(categories=[Category.from_row(row) for row in rows]),
)


async def _policy(info: Info, action: Callable[[], Awaitable[PolicyRow]]) -> PolicyPayload:
    def made(row: PolicyRow) -> PolicyPayload:
        principal, _ = info.context.require()
        return PolicyPayload(policy=Policy.of_row(row, principal.home_currency))

    return await outcome(PolicyPayload, made)(action)


def _money(money: MoneyInput | None) -> tuple[Decimal, str] | None:
    return (money.amount, money.currency) if money is not None else None


CategoryId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the category.")]


@strawberry.type(description="Categories and policies (admins and finance).")
class CatalogMutations:
    @strawberry.mutation(
        description="Create a category (admins, finance, `admin` keys). Names and GL codes are unique."
    )
    async def create_category(
        self,
        info: Info,
        input: Annotated[CreateCategoryInput, strawberry.argument(description="The category.")],
    ) -> CategoryPayload | None:
        changes = CategoryChanges(name=input.name, gl_code=input.gl_code)
        return await _category(lambda: categories.create_category(info.context, changes))

    @strawberry.mutation(
        description="Rename a category or change its GL code, archived ones too (same actors as createCategory)."
    )
    async def update_category(
        self, info: Info, id: CategoryId,
        input: Annotated[UpdateCategoryInput, strawberry.argument(description="The changes.")],
    ) -> CategoryPayload | None:  # fmt: skip
        gl_code = input.gl_code if input.gl_code is not strawberry.UNSET else None
        changes = CategoryChanges(
            name=input.name,
            gl_code=gl_code,
            remove_gl_code=input.gl_code is None,
        )
        return await _category(lambda: categories.update_category(info.context, id, changes))

    archive_category = _category.mutation(
        "Archive a category: its expenses keep it, new and changed expenses cannot use it (same actors as createCategory).",
        categories.archive_category,
        id=CategoryId,
    )

    @strawberry.mutation(
        description="Push a chart of accounts by GL code, all or nothing (same actors as createCategory): a known code is renamed (and un-archived), a new one created. Up to 500 items."
    )
    async def upsert_categories(
        self,
        info: Info,
        input: Annotated[
            list[CategoryUpsertInput],
            strawberry.argument(description="The accounts: each GL code and name at most once."),
        ],
    ) -> CategoriesPayload | None:
        items = [(item.gl_code, item.name) for item in input]
        return await _categories(lambda: categories.upsert_categories(info.context, items))

    @strawberry.mutation(
        description="Create an expense policy, or replace an active one's fields (admins, finance, `admin` keys)."
    )
    async def set_policy(
        self,
        info: Info,
        input: Annotated[SetPolicyInput, strawberry.argument(description="The policy.")],
    ) -> PolicyPayload | None:
        fields = PolicyFields(
            id=input.id, name=input.name, category_id=input.category_id,
            max_amount=_money(input.max_amount),
            receipt_required_above=_money(input.receipt_required_above),
        )  # fmt: skip
        return await _policy(info, lambda: policies.set_policy(info.context, fields))

    @strawberry.mutation(
        description="Remove a policy: expenses are no longer checked against it (same actors as setPolicy)."
    )
    async def remove_policy(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Id of the policy.")],
    ) -> PolicyPayload | None:
        return await _policy(info, lambda: policies.remove_policy(info.context, id))
