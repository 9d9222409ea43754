"""Reading the request's headers (app/headers.py), as the endpoint does once a request."""

from dataclasses import astuple

from app.headers import RequestHeaders, header, request_headers


def test_request_headers_read_the_first_value_of_each_as_header_does() -> None:
    headers = [
        (b"host", b"t"),
        (b"authorization", b"Bearer first"),
        (b"content-type", b"application/json"),
        (b"authorization", b"Bearer second"),
        (b"idempotency-key", b"caf\xe9"),  # latin-1, as HTTP header bytes decode
        (b"x-request-id", b"not read here"),
    ]
    scope = {"type": "http", "headers": headers}
    read = request_headers(scope)
    assert read == RequestHeaders(
        authorization="Bearer first", content_type="application/json", idempotency_key="café"
    )
    names = (b"accept", b"authorization", b"content-length", b"content-type", b"idempotency-key")
    assert astuple(read) == tuple(header(scope, name) for name in names)


def test_request_headers_of_a_request_without_any() -> None:
    assert request_headers({"type": "http", "headers": []}) == RequestHeaders()
    assert request_headers({"type": "http"}) == RequestHeaders()
