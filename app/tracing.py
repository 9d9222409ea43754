"""OpenTelemetry traces: a span per GraphQL request, a child span per SQL statement.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is
set: then no tracer provider is installed, the SDK is not even imported, and a request
costs one check of :data:`ENABLED`. On, spans go to the OTLP exporter (HTTP/protobuf) in
batches from a background thread, and the SDK reads the standard variables itself
(``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``, ``OTEL_RESOURCE_ATTRIBUTES``...).
A caller's W3C ``traceparent`` makes the request span a child of the caller's span.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode
from starlette.types import Scope

from app.observability import RequestRecord
from db import tracing_hooks
from resolvers.context import Principal
from resolvers.errors import ErrorCode

# checked once per request: False until a tracer provider is installed
ENABLED = False
_tracer: trace.Tracer | None = None
DEFAULT_SERVICE_NAME = "expensegraph"


def configure_tracing() -> bool:
    """Install an OTLP-exporting tracer provider if the environment asks for one; return if on.

    Called once by every serving process (a worker is a fresh interpreter); a second call
    keeps the provider the first one installed.
    """
    if ENABLED:
        return True
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if not endpoint or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    # imported here: a process that does not trace never loads the SDK or the exporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)  # the sampler from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    install(provider)
    return True


def install(provider: trace.TracerProvider | None) -> None:
    """Trace requests and statements with ``provider`` (None: stop); tests pass their own."""
    global ENABLED, _tracer
    _tracer = None if provider is None else provider.get_tracer("expensegraph")
    tracing_hooks.install(None if provider is None else provider.get_tracer("expensegraph.db"))
    ENABLED = _tracer is not None


@contextmanager
def request_span(scope: Scope) -> Iterator[Span]:
    """Run the enclosed request in a server span, a child of the caller's ``traceparent``."""
    assert _tracer is not None, "install() a tracer provider first"
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    method = scope.get("method", "")
    attributes = {"http.request.method": method, "url.path": scope.get("path", "")}
    with _tracer.start_as_current_span(
        f"{method} /graphql",
        context=propagate.extract(carrier),  # OTEL_PROPAGATORS: W3C trace context by default
        kind=SpanKind.SERVER,
        attributes=attributes,
        record_exception=False,  # a message may quote values: the type only (failed)
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            tracing_hooks.failed(span, error)
            raise


def describe_request(span: Span, record: RequestRecord, principal: Principal | None) -> None:
    """Set what the request did on its span: operation, credential, outcome, status, cost."""
    codes = record.report.get("codes") or []
    # the same outcome as the request's log line (app/observability.py finish)
    outcome = codes[0] if codes else ("ok" if record.status < 400 else f"http_{record.status}")
    span.set_attribute("expensegraph.request_id", record.request_id)  # as in the log line
    span.set_attribute("expensegraph.outcome", outcome)
    span.set_attribute("expensegraph.credential", principal.kind if principal else "none")
    if principal is not None:
        span.set_attribute("expensegraph.business_id", principal.business_id)
    operation = record.report.get("operation")
    if operation:
        span.set_attribute("graphql.operation.name", operation)
    cost = record.report.get("cost")
    if cost is not None:
        span.set_attribute("expensegraph.requested_cost", cost)
    if record.status:
        span.set_attribute("http.response.status_code", record.status)
    if record.status >= 500 or outcome == ErrorCode.INTERNAL.value:  # ours, not the caller's
        span.set_status(StatusCode.ERROR, outcome)
