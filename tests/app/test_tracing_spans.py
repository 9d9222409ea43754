"""OpenTelemetry traces in the process: a server span per request, a child span per SQL
statement, and no tracing code at all when it is off."""

import random
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text

from app import tracing
from db import tracing_hooks
from db.engine import RequestDb
from resolvers.ids import encode_id
from tests.app.helpers_tracing import LISTING
from tests.conftest import gql, gql_raw, token
from tests.world import _business


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
