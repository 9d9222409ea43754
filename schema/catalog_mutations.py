"""Category and policy mutations. Business-rule failures are userErrors, nothing changes."""

from typing import Annotated

import strawberry

from db.rows import CategoryRow, PolicyRow
from resolvers.context import Context
from resolvers.mutations import categories, policies
from resolvers.mutations.categories import CategoryChanges
from resolvers.mutations.policies import PolicyFields
from schema.business import Policy, PolicySource
from schema.category import Category
from schema.input_fields import optional
from schema.payloads import Changes, MoneyInput, converted, given, one_changed, outcome, payload


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    name: str = strawberry.field(description="Name, unique in the business (1 to 200 characters).")
    gl_code: str | None = optional(
        "General-ledger account code, unique in the business; omit for none."
    )


@strawberry.input(description="Changes to a category; omitted fields stay as they are.")
class UpdateCategoryInput:
    name: str | None = optional("New name.")
    gl_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="New GL code; null removes it."
    )


@strawberry.input(description="One account of a chart of accounts, keyed by its GL code.")
class CategoryUpsertInput:
    gl_code: str = strawberry.field(description="General-ledger account code: the key.")
    name: str = strawberry.field(description="Name of the category with this code.")


@strawberry.input(description="An expense policy. With `id` it replaces that policy's fields.")
class SetPolicyInput:
    id: strawberry.ID | None = optional("Policy to replace; omit to create one.")
    name: str = strawberry.field(description="Name, shown with violations (1 to 200 characters).")
    category_id: strawberry.ID | None = optional("Category it applies to; omit for every category.")
    max_amount: MoneyInput | None = optional("Largest amount of one expense, in the home currency.")
    receipt_required_above: MoneyInput | None = optional(
        "Amount above which a receipt is required, in the home currency (0: always)."
    )


@payload("Result of upsertCategories: all categories written, or none.")
class CategoriesPayload:
    categories: list[Category] = strawberry.field(
        default_factory=list,
        description="The pushed categories in input order; empty when userErrors.",
    )


_category = one_changed(Category, "category")
_categories = outcome(
    CategoriesPayload,
    lambda rows: CategoriesPayload(categories=[Category.from_row(row) for row in rows]),
)


_policy = one_changed(Policy, "policy")


def _priced(ctx: Context, row: PolicyRow) -> PolicySource:
    """Return the policy with the home currency its amounts are in."""
    principal, _ = ctx.require()
    return PolicySource(row, principal.home_currency)


CategoryId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the category.")]


@strawberry.type(description="Categories and policies (admins and finance).")
class CatalogMutations:
    @_category.mutation(
        "Create a category (admins, finance, `admin` keys). Names and GL codes are unique."
    )
    async def create_category(
        ctx: Context,
        input: Annotated[CreateCategoryInput, strawberry.argument(description="The category.")],
    ) -> CategoryRow:
        return await categories.create_category(ctx, converted(input, CategoryChanges))

    @_category.mutation(
        "Rename a category or change its GL code, archived ones too (same actors as createCategory)."
    )
    async def update_category(
        ctx: Context, id: CategoryId, input: Changes[UpdateCategoryInput]
    ) -> CategoryRow:
        gl_code, set_gl_code = given(input.gl_code)
        changes = CategoryChanges(
            name=input.name, gl_code=gl_code, remove_gl_code=set_gl_code and gl_code is None
        )
        return await categories.update_category(ctx, id, changes)

    archive_category = _category.mutation(
        "Archive a category: its expenses keep it, new and changed expenses cannot use it (same actors as createCategory).",
        categories.archive_category,
        id=CategoryId,
    )

    @_categories.mutation(
        "Push a chart of accounts by GL code, all or nothing (same actors as createCategory): a known code is renamed (and un-archived), a new one created. Up to 500 items."
    )
    async def upsert_categories(
        ctx: Context,
        input: Annotated[
            list[CategoryUpsertInput],
            strawberry.argument(description="The accounts: each GL code and name at most once."),
        ],
    ) -> list[CategoryRow]:
        items = [(item.gl_code, item.name) for item in input]
        return await categories.upsert_categories(ctx, items)

    @_policy.mutation(
        "Create an expense policy, or replace an active one's fields (admins, finance, `admin` keys)."
    )
    async def set_policy(
        ctx: Context,
        input: Annotated[SetPolicyInput, strawberry.argument(description="The policy.")],
    ) -> PolicySource:
        return _priced(ctx, await policies.set_policy(ctx, converted(input, PolicyFields)))

    @_policy.mutation(
        "Remove a policy: expenses are no longer checked against it (same actors as setPolicy)."
    )
    async def remove_policy(
        ctx: Context,
        id: Annotated[strawberry.ID, strawberry.argument(description="Id of the policy.")],
    ) -> PolicySource:
        return _priced(ctx, await policies.remove_policy(ctx, id))
