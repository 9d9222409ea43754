"""OpenTelemetry export: configured from the standard variables, spans sent over OTLP/HTTP to
a collector, by `expensegraph serve` with one worker or two."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.app.helpers_tracing import LISTING


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
