"""Assemble the schema: root types, extensions, config."""

from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.business import Business
from schema.card import Card
from schema.card_mutations import ApiKeyMutations, CardMutations
from schema.catalog_mutations import CatalogMutations
from schema.category import Category
from schema.compiled_run import CompiledExecutionContext
from schema.error_log import log_client_errors
from schema.expense import Expense
from schema.member import Member
from schema.mutation import ExpenseMutations
from schema.org_mutations import OrganisationMutations
from schema.query import Query
from schema.receipt import Receipt
from schema.receipt_mutations import ReceiptMutations
from schema.scalars import SCALAR_OVERRIDES
from schema.team import Team


@strawberry.type(
    description="Changes. Each mutation is all or nothing; its userErrors say why it did not happen."
)
class Mutation(
    ExpenseMutations,
    CardMutations,
    ApiKeyMutations,
    ReceiptMutations,
    OrganisationMutations,
    CatalogMutations,
):
    pass


class ExpenseGraphSchema(strawberry.Schema):
    """strawberry's schema, logging errors in bounded lines instead of whole documents."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # strawberry's default logs each error with its source excerpt and a traceback;
        # unexpected errors are logged where app.errors masks them, with the request id
        log_client_errors(errors, execution_context)


NODE_TYPES = [Business, Card, Category, Expense, Member, Receipt, Team]


def build_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    *,
    compiled: bool = True,
) -> ExpenseGraphSchema:
    """Return the schema; ``extensions`` are classes or factories (never shared instances).

    ``compiled`` runs cached queries through schema/compiled.py; False keeps graphql-core's
    standard execution for everything (the reference the differential tests compare with).
    """
    return ExpenseGraphSchema(
        query=Query,
        mutation=Mutation,
        types=NODE_TYPES,
        extensions=list(extensions),
        config=StrawberryConfig(disable_field_suggestions=True),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=CompiledExecutionContext if compiled else None,
    )
