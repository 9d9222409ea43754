"""Differential tests: the fast lane answers exactly as the reference path (strawberry).

Every request runs through an app with ``fast_lane`` off (the reference) and twice
through the suite's app (lane on: the first answer is the reference path's, which
teaches the lane the document; the second is the lane's, or its fallback's). The bodies
must be equal field by field: data, nulls, errors with their paths and codes (request
ids aside), ``extensions.cost``; so must the status and the headers that matter; the
lane may run fewer SQL statements, never more. A fixed corpus covers the shapes
dashboards send as every role; random selections and queries drawn from the schema by
hypothesis-graphql cover what nobody thought to write.
"""

import json
import logging
import random
import re
from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    Undefined,
    build_schema,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)

from app.observability import REGISTRY
from tests.conftest import gql_raw, token
from tests.drawn import SDL, drawn_queries

EXPENSE = """id merchantName description amount { amount currency } homeAmount { amount currency }
  fxRate fxRateDate spentAt status submittedAt decidedAt reimbursedAt exportedAt createdAt
  updatedAt deletedAt member { id name role team { name } } team { id name manager { name } }
  card { id last4 status holder { name } } category { id name glCode }
  receipts { id fileName contentType sizeBytes } receiptMissing policyViolations { code message }
  events { action comment at actor { name } }"""

CORPUS: dict[str, tuple[str, dict[str, Any]]] = {
    "list": (f"query($n: Int) {{ expenses(first: $n) {{ totalCount edges {{ cursor node {{ {EXPENSE} }} }}"
             " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }", {"n": 50}),
    "list backwards, filtered": (
        "query($f: ExpenseFilter) { expenses(last: 7, filter: $f, orderBy: {field: AMOUNT, direction: ASC})"
        " { nodes { id homeAmount { amount } category { name } } pageInfo { hasPreviousPage } } }",
        {"f": {"statuses": ["APPROVED", "SUBMITTED"], "hasReceipt": False}}),
    "teams": ("{ teams(first: 20) { nodes { id name manager { name } members { name role }"
              " expenses(first: 5) { totalCount nodes { id member { name } } } } } }", {}),
    "teams, nested filter and order": (
        "query($s: [ExpenseStatus!]) { teams(first: 5) { nodes { name expenses(first: 3,"
        " filter: {statuses: $s}, orderBy: {field: AMOUNT, direction: DESC}) { nodes { id"
        " status amount { amount currency } } } } } }", {"s": ["APPROVED", "SUBMITTED"]}),
    "members and cards": ("{ members(first: 50) { nodes { name email role cards { last4 kind"
                          " spendLimit { amount currency } } } } cards(first: 50) { nodes { id status"
                          " holder { name } expenses(first: 2) { nodes { merchantName } } } } }", {}),
    "aliases, fragments, merged keys": (
        "query { a: expenses(first: 3) { nodes { ...E id } } b: expenses(first: 2, orderBy: {field: UPDATED_AT,"
        " direction: ASC}) { nodes { id ... on Expense { status member { id } } member { name } } }"
        " viewer { credential scopes } __typename } fragment E on Expense { __typename merchantName"
        " amount { currency } amount { amount } }", {}),
    "summary": ("{ spendSummary(groupBy: [TEAM, CATEGORY], interval: MONTH) { period team { name manager"
                " { name } } category { name } total { amount currency } count } }", {}),
    "categories and receipts": ("{ categories(first: 10) { nodes { name glCode } } receipts(first: 10)"
                                " { nodes { fileName expense { merchantName } } } }", {}),
    "include directive (not compiled)": (
        "query($x: Boolean!) { expenses(first: 2) { nodes { id merchantName @include(if: $x) } } }",
        {"x": False}),
    "page size refused": ("{ expenses(first: 500) { nodes { id } } }", {}),
    "change feed": ("{ events(first: 5) { edges { cursor node { id type objectType objectId"
                    " changedFields transition { from to } actor { kind apiKeyId member { name } } } }"
                    " pageInfo { hasNextPage endCursor } } }", {}),
}  # fmt: skip
AS = ("admin", "manager", "employee", "a_expenses_only", "a_read")
SCHEMA = build_schema(SDL)
_query = SCHEMA.query_type
assert _query is not None
QUERY: GraphQLObjectType = _query
SIGNED = re.compile(r"expires=\d+&signature=[0-9a-f]+")


def _credential(world: Any, who: str) -> str:
    return world.keys[who] if who.startswith("a_") else token(world.a, who)


def _comparable(body: dict[str, Any]) -> Any:
    """Return the body without what differs between two runs: request ids, link expiry."""
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    # a signed receipt link expires a fixed time after it is made: the second may tick
    return json.loads(SIGNED.sub("expires=E&signature=S", json.dumps(body)))


def runs(path: str, reason: str = "") -> float:
    """Return how many queries this process ran by ``path`` (lane, fallback, reference)."""
    if path == "fallback" and not reason:
        return sum(
            sample.value
            for metric in REGISTRY.collect()
            if metric.name == "expensegraph_fast_lane"
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels["path"] == "fallback"
        )
    labels = {"path": path, "reason": reason}
    return REGISTRY.get_sample_value("expensegraph_fast_lane_total", labels) or 0.0


HEADERS = ("content-type", "retry-after", "cache-control", "www-authenticate")


class _LogLines(logging.Handler):
    """The request log lines (app/observability.py ``finish``) written while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


async def logged(app, query, variables, as_) -> tuple[Any, dict[str, Any]]:
    """Return the response to one request and its log line."""
    logger, lines = logging.getLogger("expensegraph.request"), _LogLines()
    level = logger.level
    logger.setLevel(logging.INFO)  # setLevel, not .level =: it clears isEnabledFor's cache
    logger.addHandler(lines)
    try:
        response = await gql_raw(app, query, variables, as_=as_)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
    [line] = lines.lines
    return response, line


async def _answer(app, statements, query, variables, as_) -> tuple[Any, ...]:
    """Return (status, headers, body, log line, statements) of one request."""
    statements.reset()
    response, line = await logged(app, query, variables, as_)
    headers = {name: response.headers.get(name) for name in HEADERS}
    assert response.headers.get("x-request-id")
    assert line["sql_statements"] == statements.count
    for differs in ("request_id", "duration_ms", "sql_statements", "sql_round_trips"):
        del line[differs]
    body = _comparable(response.json())
    return response.status_code, headers, body, line, statements.count


async def _both(client, reference, statements, query, variables, as_) -> tuple[Any, Any]:
    """Return (status, headers, body, statements) from the reference app and from the lane's.

    The lane's app answers twice: first on the reference path if it has not yet learnt
    the document, then in the lane. Both must equal the reference; the lane's statements
    (its fallback's included) may be fewer, never more.
    """
    expected = await _answer(reference, statements, query, variables, as_)
    for _ in range(2):
        got = await _answer(client, statements, query, variables, as_)
        assert got[:4] == expected[:4], query
        assert got[4] <= expected[4], f"{got[4]} statements, the reference {expected[4]}: {query}"
    return expected[:3], got[:3]


@pytest.mark.parametrize("who", AS)
@pytest.mark.parametrize("name", list(CORPUS))
async def test_corpus_answers_match(client, reference, statements, world, name, who) -> None:
    query, variables = CORPUS[name]
    expected, got = await _both(
        client, reference, statements, query, variables, _credential(world, who)
    )
    assert got == expected


async def test_dashboard_queries_run_in_the_lane(client, world) -> None:
    dashboard = ("list", "teams", "teams, nested filter and order", "members and cards",
                 "aliases, fragments, merged keys", "summary")  # fmt: skip
    for name in dashboard:
        await gql_raw(client, *CORPUS[name], as_=token(world.a, "admin"))  # learnt
        lane, fallbacks = runs("lane"), runs("fallback")
        response = await gql_raw(client, *CORPUS[name], as_=token(world.a, "admin"))
        assert "errors" not in response.json(), response.json()
        assert runs("lane") == lane + 1, name
        assert runs("fallback") == fallbacks, name


def _drawn_queries(count: int) -> list[str]:
    """Return ``count`` drawn queries; their arguments are random, so most end in an error
    (they exercise the fallback)."""
    return drawn_queries(
        count,
        instants=["2026-01-01T00:00:00+00:00", "2025-06-30T12:00:00Z"],
        date="2026-01-01",
        decimals=["0", "12.5", "-1", "abc"],
    )


def _selection(rng: random.Random, type_: Any, depth: int) -> str:
    """Return a random valid selection set on ``type_`` (aliases, fragments, nested pages)."""
    if isinstance(type_, GraphQLInterfaceType):
        parts = ["__typename", "id"] + [
            f"... on {t.name} {_selection(rng, t, depth)}"
            for t in SCHEMA.get_possible_types(type_) if rng.random() < 0.3
        ]  # fmt: skip
        return "{ " + " ".join(parts) + " }"
    parts = []
    for name, field_def in type_.fields.items():
        if rng.random() > 0.45:
            continue
        args = field_def.args
        if any(is_non_null_type(a.type) and a.default_value is Undefined for a in args.values()):
            continue
        named = get_named_type(field_def.type)
        if not is_leaf_type(named) and depth == 0:
            continue
        alias = f"a{len(parts)}: " if rng.random() < 0.2 else ""
        call = f"(first: {rng.randint(0, 4)})" if "first" in args else ""
        sub = "" if is_leaf_type(named) else " " + _selection(rng, named, depth - 1)
        parts.append(f"{alias}{name}{call}{sub}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def _random_queries(count: int) -> list[str]:
    """Return ``count`` valid, seeded random queries over the root lists, all likely to succeed."""
    rng = random.Random(20261124)
    roots = ["expenses", "teams", "members", "cards", "categories", "receipts"]
    drawn = []
    for _ in range(count):
        picked = rng.sample(roots, rng.randint(1, 2))
        fields = [
            f"{name}(first: {rng.randint(1, 12)}) {_selection(rng, QUERY.fields[name].type.of_type, 3)}"
            for name in picked
        ]  # fmt: skip
        drawn.append("{ " + " ".join(fields) + " }")
    return drawn


@pytest.mark.parametrize("who", ["admin", "manager", "employee", "a_read"])
async def test_random_selections_answer_alike(client, reference, statements, world, who) -> None:
    credential = _credential(world, who)
    lane = runs("lane")
    for query in _random_queries(40):
        expected, got = await _both(client, reference, statements, query, {}, credential)
        assert got == expected, query
    assert runs("lane") - lane >= 30  # the draws are valid: nearly all ran in the lane


DRAWN = 250  # per credential: 500 documents drawn by hypothesis-graphql per run


@pytest.mark.parametrize("who", ["admin", "a_expenses_only"])
async def test_drawn_queries_answer_alike(client, reference, statements, world, who) -> None:
    credential = _credential(world, who)
    drawn = _drawn_queries(DRAWN)
    assert len(set(drawn)) > DRAWN * 0.9  # distinct documents, not a few repeated
    for query in drawn:
        expected, got = await _both(client, reference, statements, query, {}, credential)
        assert got == expected, query
