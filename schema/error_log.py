"""What a request's errors write to the log: bounded lines, never the client's document.

strawberry's default ``process_errors`` logged every error with its source excerpt (the
whole line up to the error) and a traceback, so one request of 200 KB of commas and 150
unknown fields wrote about 21 MB. Client errors are now one line per request; unexpected
ones are logged, with a traceback, where they are masked (``app.errors``).
"""

import logging
import traceback
from collections.abc import Sequence

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from resolvers.errors import DomainError, ErrorCode

log = logging.getLogger("expensegraph.errors")

MESSAGE_LIMIT = 200  # a client error's message, as logged
EXCEPTION_LIMIT = 500  # an unexpected exception's message (it may quote SQL or input)
NAME_LIMIT = 100  # operation names, request ids, codes
TRACEBACK_FRAMES = 30  # the innermost frames of each exception of a chain
TRACEBACK_CHAIN = 3  # an exception, its cause, the cause's cause

# one line stays one line: C0 and C1 controls, DEL, Unicode line and paragraph separators
# and bidirectional overrides are written as escapes (and the escape character itself)
_ESCAPES = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (
        *range(0x20),
        *range(0x7F, 0xA0),
        0x2028,
        0x2029,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
}
_ESCAPES |= {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord("\\"): "\\\\"}


def bounded(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """Return ``value`` as one line of at most ``limit`` characters plus a short suffix.

    Control characters are escaped; a cut text ends with ``...[N chars]`` (its length).
    """
    text = value if isinstance(value, str) else str(value)
    shown = text[:limit].translate(_ESCAPES)
    if len(text) > limit or len(shown) > limit:
        return f"{shown[:limit]}...[{len(text)} chars]"
    return shown


def document_code(error: GraphQLError) -> str:
    """Return the code of an error about the document itself (parse, validation, variables)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if "Document contains more than" in error.message:  # MaxTokensLimiter
        return ErrorCode.QUERY_TOO_COMPLEX.value
    return ErrorCode.BAD_USER_INPUT.value


def client_code(error: GraphQLError) -> str | None:
    """Return the code of an error the client caused, or None for an unexpected one.

    Errors come here before ``app.errors`` codes them (with their original exception) or
    after (with a code and no original exception): both are classified the same way.
    """
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return None if code == ErrorCode.INTERNAL.value else code
    if isinstance(error.original_error, DomainError):
        return error.original_error.code.value
    if error.path is None:
        return document_code(error)  # no field was running: it is about the document
    return None


def log_client_errors(errors: Sequence[GraphQLError], context: ExecutionContext | None) -> None:
    """Log one bounded line for the client errors among ``errors``; never the document."""
    found = [(code, error) for error in errors if (code := client_code(error)) is not None]
    if not found:
        return
    request = getattr(context.context, "request_id", "-") if context is not None else "-"
    operation = context.operation_name if context is not None else None
    codes = sorted({bounded(code, NAME_LIMIT) for code, _ in found})
    log.info(
        'client errors request_id=%s operation=%s errors=%d codes=%s first="%s"',
        bounded(request, NAME_LIMIT),
        bounded(operation or "-", NAME_LIMIT),
        len(found),
        ",".join(codes[:10]),
        bounded(found[0][1].message, MESSAGE_LIMIT),
    )


def bounded_traceback(error: BaseException) -> str:
    """Return ``error``'s traceback and its causes', each message cut to EXCEPTION_LIMIT.

    The frames are our code's; the messages may quote what the client sent.
    """
    parts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(parts) < TRACEBACK_CHAIN:
        frames = "".join(traceback.format_tb(current.__traceback__, limit=-TRACEBACK_FRAMES))
        kind = type(current)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        try:
            message = bounded(current, EXCEPTION_LIMIT)
        except Exception:  # a broken __str__ must not lose the traceback
            message = "<message not printable>"
        parts.append(f"Traceback (most recent call last):\n{frames}{name}: {message}")
        suppressed = current.__suppress_context__
        current = current.__cause__ or (None if suppressed else current.__context__)
    return "\nraised from, or while handling:\n".join(parts)
