"""OpenTelemetry traces: a server span per request, a child span per SQL statement."""

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text

from app import tracing
from db import tracing_hooks
from db.engine import RequestDb
from resolvers.ids import encode_id
from tests.conftest import gql, gql_raw, token
from tests.world import _business

LISTING = "query Listing { expenses(first: 3) { nodes { id member { name } } } }"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Trace into memory for one test, as configure_tracing would trace to a collector."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)
        provider.shutdown()


def attrs(span: ReadableSpan) -> dict[str, Any]:
    """Return a span's attributes."""
    return dict(span.attributes or {})


def split(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """Return the one request span and the statement spans."""
    finished = exporter.get_finished_spans()
    servers = [span for span in finished if span.kind is SpanKind.SERVER]
    assert len(servers) == 1, finished
    return servers[0], [span for span in finished if span.kind is SpanKind.CLIENT]


async def test_a_request_is_a_server_span_with_a_child_per_statement(
    client, world, statements, spans
) -> None:
    statements.reset()
    await gql(client, LISTING, as_=world.keys["a_read"])
    request, sql = split(spans)
    attributes = attrs(request)
    assert request.name == "POST /graphql"
    assert attributes["graphql.operation.name"] == "Listing"
    assert attributes["expensegraph.credential"] == "api_key"
    assert attributes["expensegraph.business_id"] == world.a.id
    assert attributes["expensegraph.outcome"] == "ok"
    assert attributes["http.response.status_code"] == 200
    assert attributes["expensegraph.requested_cost"] == 7
    assert len(str(attributes["expensegraph.request_id"])) == 32
    assert len(sql) == statements.count > 0
    assert [attrs(span)["db.statement"] for span in sql] == statements.statements
    for span in sql:
        assert span.parent is not None and span.parent.span_id == request.context.span_id
        assert span.context.trace_id == request.context.trace_id
        assert attrs(span)["db.system"] == "postgresql"
        assert span.name == "SELECT"
    assert 3 in [attrs(span).get("db.response.returned_rows") for span in sql]  # the page


async def test_a_member_request_and_a_refused_one_say_who_and_why(client, world, spans) -> None:
    await gql(client, "{ viewer { credential } }", as_=token(world.a, "admin"))
    attributes = attrs(split(spans)[0])
    assert attributes["expensegraph.credential"] == "member"
    assert attributes["expensegraph.business_id"] == world.a.id
    spans.clear()
    response = await gql_raw(client, "{ viewer { credential } }", as_="not-a-token")
    assert response.status_code == 401
    attributes = attrs(split(spans)[0])
    assert attributes["expensegraph.credential"] == "none"
    assert "expensegraph.business_id" not in attributes
    assert attributes["expensegraph.outcome"] == "UNAUTHENTICATED"
    assert attributes["http.response.status_code"] == 401


async def test_a_callers_traceparent_is_the_request_spans_parent(client, world, spans) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    await client.post(
        "/graphql",
        json={"query": "{ viewer { credential } }"},
        headers={
            "authorization": f"Bearer {world.keys['a_read']}",
            "traceparent": f"00-{trace_id}-{parent_id}-01",
        },
    )
    request, sql = split(spans)
    assert request.context.trace_id == int(trace_id, 16)
    assert request.parent is not None and request.parent.span_id == int(parent_id, 16)
    assert request.parent.is_remote
    assert sql and all(span.context.trace_id == int(trace_id, 16) for span in sql)


async def test_statement_spans_never_carry_parameter_values(client, world, spans) -> None:
    needle = "Zq7-distinctive-merchant-Xw"
    query = "query Find($q: String!) { expenses(first: 5, filter: { merchantSearch: $q }) { totalCount } }"
    await gql(client, query, {"q": needle}, as_=world.keys["a_read"])
    _, sql = split(spans)
    assert sql and any("$1" in str(attrs(span).get("db.statement")) for span in sql)
    for span in spans.get_finished_spans():
        values = [str(value) for value in attrs(span).values()]
        values.append(str(span.status.description))
        values += [
            str(value) for event in span.events for value in (event.attributes or {}).values()
        ]
        assert not any(needle.lower() in value.lower() for value in values), span.name


async def test_a_failed_statement_keeps_its_error_type_not_its_message(engine, spans) -> None:
    needle = "Zq7-not-a-number"
    db = RequestDb(engine)
    try:
        with pytest.raises(Exception, match=needle):  # the message does quote the value
            await db.rows(text("SELECT CAST(:v AS integer) AS n"), {"v": needle})
    finally:
        await db.close()
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR and not span.status.description
    assert attrs(span)["error.type"] and attrs(span)["db.statement"]
    assert not span.events and needle not in repr(attrs(span))


async def test_a_write_traces_its_savepoint_statements_too(
    engine, client, statements, spans
) -> None:
    async with engine.begin() as conn:
        biz = await _business(conn, "Traceco Ltd", "GBP", 1, random.Random(14))
    freeze = "mutation($id: ID!) { freezeCard(id: $id) { card { status } userErrors { code } } }"
    statements.reset()
    data = await gql(
        client, freeze, {"id": encode_id("Card", biz.cards["employee"])}, as_=token(biz, "admin")
    )
    assert data["freezeCard"]["card"]["status"] == "FROZEN"
    _, sql = split(spans)
    assert len(sql) == statements.count
    names = [span.name for span in sql]
    assert "UPDATE" in names and "SAVEPOINT" in names and "RELEASE" in names, names


async def test_off_runs_no_tracing_code(client, world, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.configure_tracing() is False
    assert not tracing.ENABLED and tracing_hooks.TRACER is None
    # no provider installed: the API's proxy, which records nothing
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)

    def tracing_code(*args: Any) -> Any:
        raise AssertionError("tracing code ran with tracing off")

    monkeypatch.setattr(tracing, "request_span", tracing_code)
    monkeypatch.setattr(tracing, "describe_request", tracing_code)
    monkeypatch.setattr(tracing_hooks, "traced", tracing_code)
    await gql(client, LISTING, as_=world.keys["a_read"])


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                collector.received.append((self.path, headers, body))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# a serving process in miniature: configure from the environment, serve a request, exit
EXPORTING = """
from opentelemetry import trace
from app import tracing
on = tracing.configure_tracing()
if on:
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": []}
    with tracing.request_span(scope):
        pass
    trace.get_tracer_provider().force_flush()
print(on)
"""


def exported(collector: Collector, **env: str) -> tuple[str, list[Any]]:
    """Run EXPORTING with ``env``; return what it printed and the (path, headers, request)s."""
    otel = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    run = subprocess.run(
        [sys.executable, "-c", EXPORTING],
        env={**otel, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    requests = []
    for path, headers, body in collector.received:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        requests.append((path, headers, request))
    collector.received.clear()
    return run.stdout.strip(), requests


def test_configured_from_the_standard_variables(collector: Collector) -> None:
    printed, requests = exported(collector, OTEL_EXPORTER_OTLP_HEADERS="x-tenant=acme")
    assert printed == "True" and len(requests) == 1
    path, headers, request = requests[0]
    assert path == "/v1/traces" and headers["x-tenant"] == "acme"
    assert headers["content-type"] == "application/x-protobuf"
    resource = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "expensegraph"
    assert [s.name for s in request.resource_spans[0].scope_spans[0].spans] == ["POST /graphql"]

    printed, requests = exported(collector, OTEL_SERVICE_NAME="expenses-eu")
    resource = {
        a.key: a.value.string_value for a in requests[0][2].resource_spans[0].resource.attributes
    }
    assert resource["service.name"] == "expenses-eu"

    assert exported(collector, OTEL_TRACES_SAMPLER="always_off") == ("True", [])
    assert exported(collector, OTEL_SDK_DISABLED="true") == ("False", [])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_exports_to_the_collector(world, database_url, tmp_path, collector, workers) -> None:
    import httpx

    from tests.conftest import SETTINGS
    from tests.serving import serving

    env = {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
           "EXPENSEGRAPH_DATA_DIR": str(tmp_path), "OTEL_BSP_SCHEDULE_DELAY": "50",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}"}  # fmt: skip
    trace_id = os.urandom(16)
    with serving(tmp_path, env, workers=workers) as server:
        response = httpx.post(
            f"{server.url}/graphql",
            json={"query": LISTING},
            headers={
                "authorization": f"Bearer {world.keys['a_read']}",
                "traceparent": f"00-{trace_id.hex()}-00f067aa0ba902b7-01",
            },
            timeout=10,
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 20
        # the request span ends last: once it is in, so are its statements'
        while time.monotonic() < deadline:
            ours = _spans_of(collector, trace_id)
            if "POST /graphql" in [span.name for span in ours]:
                break
            time.sleep(0.1)
    names = sorted(span.name for span in ours)
    assert names == ["POST /graphql", *["SELECT"] * (len(names) - 1)] and len(names) > 1
    (request,) = [span for span in ours if span.name == "POST /graphql"]
    assert request.parent_span_id == bytes.fromhex("00f067aa0ba902b7")
    assert all(span.parent_span_id == request.span_id for span in ours if span is not request)


def _spans_of(collector: Collector, trace_id: bytes) -> list[Any]:
    """Return the spans of ``trace_id`` the collector has received, from service expensegraph."""
    found = []
    for _, _, body in list(collector.received):
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                found += [
                    span
                    for span in scope_spans.spans
                    if span.trace_id == trace_id and service["service.name"] == "expensegraph"
                ]
    return found
