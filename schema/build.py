"""Assemble the schema: root types, extensions, config."""

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from db.nodes import NODES
from schema.card_mutations import ApiKeyMutations, CardMutations
from schema.catalog_mutations import CatalogMutations
from schema.error_log import log_client_errors
from schema.event import Subscription
from schema.expense_mutations import ExpenseMutations
from schema.fields import SOURCED
from schema.org_mutations import OrganisationMutations
from schema.query import Query
from schema.receipt_mutations import ReceiptMutations
from schema.scalars import SCALAR_OVERRIDES
from schema.webhooks import WebhookMutations


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
    WebhookMutations,
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


# the registered node types (db/nodes.py), by name; each module is loaded by Query's imports
NODE_TYPES = sorted((SOURCED[node.name] for node in NODES), key=lambda cls: cls.__name__)


def build_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    *,
    execution_context_class: type[Any] | None = None,
) -> ExpenseGraphSchema:
    """Return the schema; ``extensions`` are classes or factories (never shared instances).

    ``execution_context_class``: graphql-core's by default; the app passes execution/'s.
    """
    return ExpenseGraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=list(extensions),
        config=StrawberryConfig(disable_field_suggestions=True),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=execution_context_class,
    )
