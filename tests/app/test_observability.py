"""Per-request JSON logs and the Prometheus metrics."""

import io
import json
import logging
from typing import Any

import pytest

from tests.conftest import gql_raw, token


async def test_each_request_logs_one_json_line_without_secrets(
    client, world, caplog: pytest.LogCaptureFixture
) -> None:
    key = world.keys["a_read"]
    with caplog.at_level(logging.INFO, logger="expensegraph.request"):
        await gql_raw(
            client, "query Listing { expenses(first: 3) { nodes { id member { name } } } }", as_=key
        )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "expensegraph.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["operation"] == "Listing" and line["outcome"] == "ok" and line["status"] == 200
    assert line["credential"].startswith("api_key:") and line["business_id"] == world.a.id
    assert line["sql_statements"] == 3 and line["cost"] == 7 and line["duration_ms"] > 0
    secret = key.split("_", 2)[2]  # egk_<prefix>_<secret>; the secret may hold "_" too
    assert key not in caplog.text and secret not in caplog.text


async def test_failed_requests_log_their_code(
    client, world, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="expensegraph.request"):
        await gql_raw(
            client, "{ expenses(first: 101) { totalCount } }", as_=token(world.a, "admin")
        )
        await gql_raw(client, "{ viewer { credential } }", as_="not-a-token")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "expensegraph.request"]
    assert [line["outcome"] for line in lines] == ["BAD_USER_INPUT", "UNAUTHENTICATED"]
    assert [line["status"] for line in lines] == [200, 401]


async def test_metrics_expose_requests_latency_batches_pool_and_rate_limits(client, world) -> None:
    await gql_raw(
        client,
        "query Metered { teams { nodes { members { name } } } }",
        as_=token(world.a, "admin"),
    )
    text = (await client.get("/metrics")).text
    assert 'expensegraph_requests_total{operation="Metered",outcome="ok"}' in text
    assert 'expensegraph_request_duration_seconds_bucket{le="0.005",operation="Metered"}' in text
    assert 'expensegraph_loader_batch_size_count{loader="MembersByTeamLoader"}' in text
    assert 'expensegraph_pool_connections{state="idle"}' in text
    assert "expensegraph_rate_limited_total" in text
    assert "expensegraph_sql_statements_per_request_bucket" in text


class _Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("stderr is gone")


def test_the_request_line_skips_the_log_record_only_when_the_service_handler_is_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a serving process writes (configure_logging's handler alone), and the fallbacks."""
    from app import observability

    parent = logging.getLogger("expensegraph")
    level = parent.level
    made: list[str] = []
    real_make = observability.log.makeRecord

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append("record")
        return real_make(*args, **kwargs)

    def finish(request_id: str) -> None:
        record = observability.RequestRecord(request_id)
        record.status = 200
        observability.finish(record, principal=None, statements=2, round_trips=1)

    stream = io.StringIO()
    handler = observability.LineHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    monkeypatch.setattr(parent, "handlers", [handler])
    monkeypatch.setattr(logging.root, "handlers", [])  # pytest's capture is the root's
    monkeypatch.setattr(observability.log, "makeRecord", make)
    parent.setLevel(logging.INFO)
    try:
        finish("alone")
        assert made == []  # straight to the stream
        line = json.loads(stream.getvalue())
        assert (line["request_id"], line["status"], line["sql_statements"]) == ("alone", 200, 2)
        own = io.StringIO()
        monkeypatch.setattr(logging.root, "handlers", [logging.StreamHandler(own)])
        finish("with yours")  # an operator's handler gets a record, and ours the line too
        assert made == ["record"] and "with yours" in own.getvalue()
        assert json.loads(stream.getvalue().splitlines()[1])["request_id"] == "with yours"
        monkeypatch.setattr(logging.root, "handlers", [])
        handler.setStream(_Broken())
        monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production
        finish("broken")  # logging's own error handling: the request does not fail
        assert made == ["record", "record"]
    finally:
        parent.setLevel(level)
