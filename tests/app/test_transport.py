"""Reading the request's headers (app/transport.py), as the endpoint does once a request."""

from app.transport import header, request_headers


def test_request_headers_hold_the_first_value_of_each_as_header_gives_it() -> None:
    headers = [
        (b"host", b"t"),
        (b"authorization", b"Bearer first"),
        (b"content-type", b"application/json"),
        (b"authorization", b"Bearer second"),
        (b"idempotency-key", b"caf\xe9"),  # latin-1, as HTTP header bytes decode
    ]
    scope = {"type": "http", "headers": headers}
    read = request_headers(scope)
    assert read == {
        b"host": "t",
        b"authorization": "Bearer first",
        b"content-type": "application/json",
        b"idempotency-key": "café",
    }
    for name in (b"accept", b"authorization", b"content-length", b"idempotency-key"):
        assert read.get(name) == header(scope, name)


def test_request_headers_of_a_request_without_any() -> None:
    assert request_headers({"type": "http", "headers": []}) == {}
    assert request_headers({"type": "http"}) == {}
