"""The closed set of error codes and the domain exception that carries one."""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every ``extensions.code`` the API returns. Adding one is a contract change."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    CONFLICT = "CONFLICT"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"
    # the automatic persisted query protocol: send the query along with its hash
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


class DomainError(Exception):
    """An error the client may see as is: a code, a message, optionally the argument at fault."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str = "object") -> DomainError:
    """Return the error for an id that does not exist or is not visible (they look the same)."""
    return DomainError(ErrorCode.NOT_FOUND, f"No {what} with that id.")


def bad_input(message: str, *, field: str | None = None) -> DomainError:
    """Return the error for an argument the client must fix."""
    return DomainError(ErrorCode.BAD_USER_INPUT, message, field=field)
