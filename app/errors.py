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


# SQLSTATE classes and codes that mean "try again": connection exceptions (08), too many
# connections or out of resources (53), operator intervention: cancelled by a timeout,
# shut down, cannot connect now (57), lock timeout, serialization failure and deadlock.
RETRYABLE_SQLSTATE_CLASSES = ("08", "53", "57")
RETRYABLE_SQLSTATES = ("55P03", "40001", "40P01")


def _sqlstate(error: BaseException) -> str | None:
    for candidate in (
        error,
        getattr(error, "orig", None),
        getattr(getattr(error, "orig", None), "__cause__", None),
    ):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def is_unavailable(error: BaseException | None) -> bool:
    """Return True when ``error`` means the database is down, overloaded or timed out.

    SQLAlchemy wraps asyncpg's exceptions in a plain DBAPIError, so the SQLSTATE and the
    cause chain are what tell a timeout or a lost connection from a bug.
    """
    seen: BaseException | None = error
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, UNAVAILABLE_ERRORS):
            return True
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        state = _sqlstate(seen)
        if state and (state[:2] in RETRYABLE_SQLSTATE_CLASSES or state in RETRYABLE_SQLSTATES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unavailable_body(request_id: str) -> dict[str, object]:
    """Return the response body for a request the database could not serve."""
    error = {
        "message": UNAVAILABLE_MESSAGE,
        "extensions": {"code": ErrorCode.UNAVAILABLE.value, "requestId": request_id},
    }
    return {"data": None, "errors": [error]}


UNAVAILABLE_MESSAGE = "The database is unavailable or overloaded; retry shortly."


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
    if is_unavailable(original):
        log.warning("database unavailable request_id=%s: %r", request_id, original)
        return _with(
            error,
            UNAVAILABLE_MESSAGE,
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
