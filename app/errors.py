"""Every GraphQL error leaves with a stable ``extensions.code``; unexpected ones are masked."""

import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
from graphql import GraphQLError
from sqlalchemy import exc as sa_exc
from strawberry.extensions import SchemaExtension

from resolvers.errors import DomainError, ErrorCode
from schema.error_log import EXCEPTION_LIMIT, NAME_LIMIT, bounded, bounded_traceback, document_code

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
# unexpected errors of one request logged with their traceback; the rest are counted
MAX_TRACEBACKS = 3


class ErrorCodes(SchemaExtension):
    """Give each error its code and mask what the client must not see.

    Registered as a class so strawberry builds one per operation: a shared instance
    leaks errors between concurrent requests (SECURITY-NOTES 1).
    """

    def on_operation(self) -> Iterator[None]:
        yield
        report = getattr(self.execution_context.context, "report", {})
        operation = self.execution_context.operation_name
        # chosen by the client and written to the request's log line
        report["operation"] = None if operation is None else bounded(operation, NAME_LIMIT)
        result = self.execution_context.result
        if result is not None and result.errors:
            request_id = getattr(self.execution_context.context, "request_id", "-")
            result.errors = _coded_all(result.errors, request_id)


def ensure_codes(errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
    """Return ``errors`` with a code on each: a safety net for errors raised before execution.

    strawberry skips extensions' ``on_operation`` exits when a parse error is raised by
    the parser cache, so those errors reach the HTTP view uncoded.
    """
    uncoded = [e for e in errors if "code" not in (e.extensions or {})]
    if not uncoded:
        return errors
    coded = dict(zip(map(id, uncoded), _coded_all(uncoded, request_id), strict=True))
    return [coded.get(id(e), e) for e in errors]


def _coded_all(errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
    """Return ``errors`` coded, and log the unexpected ones among them (a bounded number)."""
    coded = [_coded(error, request_id) for error in errors]
    request_id = bounded(request_id, NAME_LIMIT)  # for the log lines below
    internal: list[GraphQLError] = []
    unavailable: list[GraphQLError] = []
    for before, after in zip(errors, coded, strict=True):
        code = (after.extensions or {}).get("code")
        if code == ErrorCode.INTERNAL.value:
            internal.append(before)
        elif code == ErrorCode.UNAVAILABLE.value and before.original_error is not None:
            unavailable.append(before)
    if unavailable:
        log.warning(
            "database unavailable request_id=%s errors=%d: %s",
            request_id,
            len(unavailable),
            bounded(repr(unavailable[0].original_error), EXCEPTION_LIMIT),
        )
    for error in internal[:MAX_TRACEBACKS]:
        _log_unexpected(error, request_id)
    if len(internal) > MAX_TRACEBACKS:
        log.error(
            "unexpected error request_id=%s: %d more not shown",
            request_id,
            len(internal) - MAX_TRACEBACKS,
        )
    return coded


def _log_unexpected(error: GraphQLError, request_id: str) -> None:
    # our traceback, the messages cut: they may quote SQL parameters or what the client sent
    original = error.original_error
    path = ".".join(map(str, error.path or []))
    if original is None:
        detail = bounded(error.message, EXCEPTION_LIMIT)
    else:
        detail = "\n" + bounded_traceback(original)
    log.error("unexpected error request_id=%s path=%s: %s", request_id, bounded(path), detail)


def _coded(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        extensions = {"code": original.code.value}
        if original.field:
            extensions["field"] = original.field
        return rewritten(error, original.message, extensions)
    if error.path is None:
        # parse, validation and variable errors: about the document the client sent
        code = document_code(error)
        return rewritten(error, error.message, {**(error.extensions or {}), "code": code})
    if is_unavailable(original):
        return rewritten(
            error,
            UNAVAILABLE_MESSAGE,
            {"code": ErrorCode.UNAVAILABLE.value, "requestId": request_id},
        )
    return rewritten(
        error,
        f"Internal error. Quote request id {request_id} to support.",
        {"code": ErrorCode.INTERNAL.value, "requestId": request_id},
    )


def rewritten(
    error: GraphQLError,
    message: str,
    extensions: dict[str, Any] | None,
    *,
    original_error: Exception | None = None,
) -> GraphQLError:
    """Return ``error`` at the same place, saying ``message`` with ``extensions``.

    The cause is dropped unless passed: a masked error must not carry what it masks.
    """
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original_error,
        extensions=extensions,
    )
