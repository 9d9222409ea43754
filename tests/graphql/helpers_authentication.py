"""Shared helpers of the authentication tests (test_auth_*.py): send a request with any
Authorization header, and check it was refused as unauthenticated."""

from typing import Any

from tests.conftest import codes

EXPENSES = "{ expenses(first: 1) { nodes { id } } }"


async def send(client: Any, authorization: str | None, query: str = EXPENSES) -> Any:
    headers = {} if authorization is None else {"Authorization": authorization}
    return await client.post("/graphql", json={"query": query}, headers=headers)


def assert_rejected(response: Any) -> dict[str, Any]:
    """Assert a 401 with UNAUTHENTICATED and nothing else; return the body."""
    body = response.json()
    assert response.status_code == 401, body
    assert body.get("data") is None, body
    assert codes(body) == ["UNAUTHENTICATED"], body
    return body
