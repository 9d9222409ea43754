"""Every GraphQL error leaves with a stable ``extensions.code``; unexpected ones are masked."""

import logging
from collections.abc import Iterator

import asyncpg
from graphql import GraphQLError
from sqlalchemy import exc as sa_exc
from strawberry.extensions import SchemaExtension

from resolvers.errors import DomainError, ErrorCode

log = logging.getLogger("expensegraph.errors")

# The database is down, restarting or the pool is exhausted: the client should retry.
UNAVAILABLE_ERRORS = (
    sa_exc.TimeoutError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    ConnectionError,
    OSError,
)


class ErrorCodes(SchemaExtension):
    """Give each error its code and mask what the client must not see.

    Registered as a class so strawberry builds one per operation: a shared instance
    leaks errors between concurrent requests (SECURITY-NOTES 1).
    """

    def on_operation(self) -> Iterator[None]:
        yield
        report = getattr(self.execution_context.context, "report", {})
        report["operation"] = self.execution_context.operation_name
        result = self.execution_context.result
        if result is not None and result.errors:
            request_id = getattr(self.execution_context.context, "request_id", "-")
            result.errors = [_coded(error, request_id) for error in result.errors]


def ensure_codes(errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
    """Return ``errors`` with a code on each: a safety net for errors raised before execution.

    strawberry skips extensions' ``on_operation`` exits when a parse error is raised by
    the parser cache, so those errors reach the HTTP view uncoded.
    """
    return [e if "code" in (e.extensions or {}) else _coded(e, request_id) for e in errors]


def _coded(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        extensions = {"code": original.code.value}
        if original.field:
            extensions["field"] = original.field
        return _with(error, original.message, extensions)
    if error.path is None:
        # parse, validation and variable errors: about the document the client sent
        too_big = "Document contains more than" in error.message
        default = ErrorCode.QUERY_TOO_COMPLEX if too_big else ErrorCode.BAD_USER_INPUT
        code = (error.extensions or {}).get("code") or default.value
        return _with(error, error.message, {**(error.extensions or {}), "code": code})
    if isinstance(original, UNAVAILABLE_ERRORS):
        log.warning("database unavailable request_id=%s: %r", request_id, original)
        return _with(
            error,
            "The database is unavailable or overloaded; retry shortly.",
            {"code": ErrorCode.UNAVAILABLE.value, "requestId": request_id},
        )
    log.error("unexpected error request_id=%s", request_id, exc_info=original)
    return _with(
        error,
        f"Internal error. Quote request id {request_id} to support.",
        {"code": ErrorCode.INTERNAL.value, "requestId": request_id},
    )


def _with(error: GraphQLError, message: str, extensions: dict[str, str]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )
