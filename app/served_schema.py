"""The schema a serving process executes: our extensions, in their order, and the executor."""

from collections.abc import Callable

from graphql import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)

from app.cost import StaticCosts
from app.errors import ErrorCodes
from app.gate import ValidationGate
from app.limits import Buckets, LimitSettings, QueryCost, shape_rule
from app.settings import Settings
from app.validation import DocumentParseCache, DocumentValidationCache
from execution.context import PlannedExecutionContext
from schema.build import ExpenseGraphSchema, build_schema


def served_schema(settings: Settings, buckets: Buckets, costs: StaticCosts) -> ExpenseGraphSchema:
    """Return the schema with the extensions ``settings`` ask for, sharing ``buckets`` and ``costs``."""
    return build_schema(
        [
            # classes or factories, never shared instances (SECURITY-NOTES 1)
            ErrorCodes,
            _parser_cache,
            _validation_cache,
            *_limits(settings.limits, buckets, costs),
            *([] if settings.introspection else [DisableIntrospection]),
        ],
        execution_context_class=(PlannedExecutionContext if settings.planned_execution else None),
    )


def _limits(
    limits: LimitSettings, buckets: Buckets, costs: StaticCosts
) -> list[Callable[[], SchemaExtension]]:
    rules: list[type[ASTValidationRule]] = [shape_rule(limits)]
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: AddValidationRules(rules),
        # registered after the parser cache: a document it refuses is not kept
        lambda: ValidationGate(limits, buckets),
        lambda: QueryCost(limits, buckets, costs),
    ]


def _parser_cache() -> DocumentParseCache:
    return DocumentParseCache()


def _validation_cache() -> DocumentValidationCache:
    return DocumentValidationCache()
