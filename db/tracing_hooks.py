"""A span per SQL statement (OpenTelemetry), once app/tracing.py has installed a tracer.

:class:`db.engine.RequestDb` checks :data:`TRACER` once per statement: None (tracing off,
the default) and nothing else of this module runs. With a tracer, each statement runs in a
client span, a child of whatever span is current (the request's). Its text comes from the
engine's ``before_cursor_execute`` event, which both of RequestDb's paths fire (SQLAlchemy's
and asyncpg's, db/fastread.py) with the SQL as sent: ``$1`` placeholders, never the values.
"""

from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from sqlalchemy import event
from sqlalchemy.engine import Engine

T = TypeVar("T")

# None: tracing is off; set by install() only
TRACER: Tracer | None = None
# the span of the statement this task is running, for the event listener to name
_statement: ContextVar[Span | None] = ContextVar("expensegraph_sql_span", default=None)


def install(tracer: Tracer | None) -> None:
    """Trace every statement with ``tracer`` from now on (None: stop tracing)."""
    global TRACER
    listening = event.contains(Engine, "before_cursor_execute", _describe)
    if tracer is not None and not listening:
        event.listen(Engine, "before_cursor_execute", _describe)  # every engine, even existing
    elif tracer is None and listening:
        event.remove(Engine, "before_cursor_execute", _describe)
    TRACER = tracer


async def traced(work: Awaitable[T]) -> T:
    """Return what ``work`` (one statement) returns, awaited inside a statement span."""
    assert TRACER is not None, "install() a tracer first"
    with TRACER.start_as_current_span(
        "sql",
        kind=SpanKind.CLIENT,
        attributes={"db.system": "postgresql"},
        # PostgreSQL's messages quote values ('Key (email)=(...) already exists'): keep the
        # error's type only, never its message or traceback
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        token = _statement.set(span)
        try:
            result = await work
        except BaseException as error:
            failed(span, error)
            raise
        finally:
            _statement.reset(token)
        if isinstance(result, list | tuple):  # rows already fetched: counting them is free
            span.set_attribute("db.response.returned_rows", len(result))
        return result


def failed(span: Span, error: BaseException) -> None:
    """Mark ``span`` failed with the type of ``error``, not its message (it may quote values)."""
    span.set_attribute("error.type", type(error).__qualname__)
    span.set_status(StatusCode.ERROR)


def _describe(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    # the SQL text only: ``parameters`` (the values) are never recorded
    span = _statement.get()
    if span is not None:
        span.set_attribute("db.statement", statement)
        span.update_name((statement.split(None, 1) or ["sql"])[0].upper())  # SELECT, INSERT...


def if_on(work: Awaitable[T]) -> Awaitable[T]:
    """Return ``work`` (one statement: SAVEPOINT, RELEASE, ROLLBACK TO) traced if tracing is on."""
    return work if TRACER is None else traced(work)
