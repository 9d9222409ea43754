"""Log amplification: what one request can make the service write to its logs.

strawberry's default error logger wrote every error with its source excerpt (the whole
line up to the error) and a traceback: a 200 KB document of commas and unknown fields
wrote about 21 MB. A request now logs at most one bounded line for its client errors.
"""

import logging

import httpx
import pytest

from schema.error_log import bounded
from tests.conftest import codes, token

UNKNOWN_FIELDS = " ".join(f"f{i}" for i in range(150))
# commas are insignificant in GraphQL: a huge line that costs no tokens
COMMAS = "{" + "," * 200_000 + f" {UNKNOWN_FIELDS} }}"
BIG_COMMAS = "{" + "," * 900_000 + f" {UNKNOWN_FIELDS} }}"
# what the whole log of one of those requests may weigh (the request's JSON line included)
LOG_BUDGET = 4_000


def _error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return the records of one request, except the per-request JSON line and the fast
    lane's one-line notice that it handed the request over (bounded: checked below)."""
    lane = [r.getMessage() for r in caplog.records if r.name == "expensegraph.lane"]
    assert all(len(message) < 500 for message in lane), lane
    skipped = ("expensegraph.request", "expensegraph.lane", "httpx")
    return [r for r in caplog.records if r.name not in skipped]


async def _post(
    client: httpx.AsyncClient, query: str, *, as_: str | None = None, request_id: str = "lb-1"
) -> httpx.Response:
    headers = {"X-Request-Id": request_id}
    if as_ is not None:
        headers["Authorization"] = f"Bearer {as_}"
    return await client.post("/graphql", json={"query": query}, headers=headers)


@pytest.mark.parametrize("who", ["anonymous", "admin"])
async def test_a_line_of_commas_and_unknown_fields_logs_little(
    client, world, caplog: pytest.LogCaptureFixture, who: str
) -> None:
    credential = None if who == "anonymous" else token(world.a, "admin")
    with caplog.at_level(logging.INFO):
        response = await _post(client, COMMAS, as_=credential)
    # anonymous requests may be refused before validation: either way, little is logged
    assert set(codes(response.json())) in ({"BAD_USER_INPUT"}, {"UNAUTHENTICATED"})
    assert len(caplog.text) < LOG_BUDGET, len(caplog.text)
    assert ",,,," not in caplog.text and "Traceback" not in caplog.text


async def test_a_900_kb_body_logs_little(client, world, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        response = await _post(client, BIG_COMMAS, as_=token(world.a, "admin"))
    assert response.status_code == 200 and set(codes(response.json())) == {"BAD_USER_INPUT"}
    assert len(caplog.text) < LOG_BUDGET, len(caplog.text)


async def test_a_hundred_validation_errors_log_one_line(
    client, world, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await _post(
            client, f"query Many {{ {UNKNOWN_FIELDS} }}", as_=token(world.a, "admin"),
            request_id="many-errors",
        )  # fmt: skip
    assert len(response.json()["errors"]) == 101
    [record] = _error_records(caplog)
    line = record.getMessage()
    assert "\n" not in line and record.exc_info is None and len(line) < 600
    assert "request_id=many-errors" in line and "operation=Many" in line
    assert "errors=101" in line and "BAD_USER_INPUT" in line and "f0" in line


async def test_unauthenticated_logs_no_traceback_and_no_document(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    query = "query Anonymous { secretAlias: expenses(first: 3) { totalCount } }"
    with caplog.at_level(logging.INFO):
        response = await _post(client, query, request_id="who-are-you")
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    [record] = _error_records(caplog)
    assert record.exc_info is None and "Traceback" not in caplog.text
    assert "secretAlias" not in caplog.text and "totalCount" not in caplog.text
    assert "UNAUTHENTICATED" in record.getMessage()
    assert "request_id=who-are-you" in record.getMessage()


async def test_long_operation_names_and_messages_are_cut(
    client, world, caplog: pytest.LogCaptureFixture
) -> None:
    name = "Op" + "x" * 5000
    value = "y" * 5000  # quoted by graphql-core's message about it
    query = f'query {name} {{ expenses(first: "{value}") {{ totalCount }} }}'
    with caplog.at_level(logging.INFO):
        response = await client.post(
            "/graphql",
            json={"query": query, "operationName": name},
            headers={"Authorization": f"Bearer {token(world.a, 'admin')}"},
        )
    assert codes(response.json()) == ["BAD_USER_INPUT"]
    [record] = _error_records(caplog)
    assert "operation=Opxxx" in record.getMessage() and "yyy" in record.getMessage()
    assert len(caplog.text) < 2_000, len(caplog.text)
    assert "x" * 200 not in caplog.text and "y" * 300 not in caplog.text


def test_bounded_text_is_one_short_line() -> None:
    assert bounded("plain") == "plain"
    assert bounded("a\nb\r\x1b[31m\u2028\u202e\\") == "a\\nb\\r\\x1b[31m\\u2028\\u202e\\\\"
    cut = bounded("z" * 1000, 10)
    assert cut == "zzzzzzzzzz...[1000 chars]"
    assert len(bounded("\x00" * 1000, 10)) < 40 and "\x00" not in bounded("\x00" * 1000, 10)


async def test_an_internal_error_logs_its_bounded_traceback_with_the_request_id(
    client, world, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx):
        raise RuntimeError("broken viewer " + "z" * 10_000)

    monkeypatch.setattr("schema.query.viewer", broken)
    with caplog.at_level(logging.INFO):
        response = await _post(
            client, "{ viewer { credential } }", as_=token(world.a, "admin"), request_id="rid-500"
        )
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "rid-500"}
    [record] = _error_records(caplog)
    text = caplog.text
    assert "rid-500" in record.getMessage() and "Traceback" in text and "in broken" in text
    assert "RuntimeError: broken viewer zzz" in text and "z" * 1000 not in text
    assert "{ viewer" not in text
