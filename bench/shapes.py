"""The query mix: six request shapes a dashboard and an integration send, and the three
shapes of peerbench (bench/peerbench/bare/q*.graphql) the fast-lane issue's targets name."""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench.data import Facts
from bench.peer_bare import DOCS
from devdata.org import ANCHOR
from resolvers.ids import encode_id

LIST_PAGE = """
query ExpenseListPage($first: Int!) {
  expenses(first: $first) {
    edges {
      cursor
      node {
        id merchantName description spentAt status
        amount { amount currency }
        homeAmount { amount currency }
        member { id name }
        team { id name }
        card { id last4 kind }
        category { id name glCode }
        receipts { id fileName contentType sizeBytes }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

TEAM_OVERVIEW = """
query TeamOverview {
  teams(first: 20) {
    nodes {
      id name
      manager { id name }
      expenses(first: 5) {
        nodes { id merchantName spentAt homeAmount { amount currency } member { id name } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

EXPENSE_DETAIL = """
query ExpenseDetail($id: ID!) {
  node(id: $id) {
    ... on Expense {
      id merchantName description
      amount { amount currency }
      homeAmount { amount currency }
      fxRate fxRateDate spentAt status submittedAt decidedAt reimbursedAt exportedAt
      createdAt updatedAt deletedAt
      member { id name email role }
      team { id name }
      card { id last4 kind status }
      category { id name glCode }
      receipts {
        id fileName contentType sizeBytes sha256 uploadedAt downloadUrl
        uploadedBy { id name }
      }
      receiptMissing
      policyViolations { code message policyName }
      events { action comment at actor { id name } }
    }
  }
}"""

SPEND_SUMMARY = """
query SpendByTeamAndMonth($after: DateTime!, $before: DateTime!) {
  spendSummary(groupBy: [TEAM], interval: MONTH, maxBuckets: 1000,
               filter: { spentAfter: $after, spentBefore: $before }) {
    period
    team { id name }
    total { amount currency }
    count
  }
}"""

MERCHANT_SEARCH = """
query MerchantSearch($term: String!) {
  expenses(first: 20, filter: { merchantSearch: $term, statuses: [APPROVED, REIMBURSED] }) {
    nodes { id merchantName spentAt status homeAmount { amount currency } member { id name } }
    pageInfo { hasNextPage endCursor }
  }
}"""

INCREMENTAL_SYNC = """
query IncrementalSync($since: DateTime!) {
  expenses(first: 100, filter: { updatedSince: $since, includeDeleted: true },
           orderBy: { field: UPDATED_AT, direction: ASC }) {
    nodes {
      id status updatedAt deletedAt
      amount { amount currency }
      homeAmount { amount currency }
      fxRate fxRateDate
      category { glCode }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

# not a dashboard query: the fixed cost of any request (HTTP, token check, GraphQL)
FLOOR = """
query Floor {
  __typename
}"""

LIST_PAGE_SIZE = 50
# the seed's data ends at ANCHOR (2026-11-01); a dashboard's "last twelve months"
SUMMARY_AFTER = ANCHOR - timedelta(days=365)
# an integration that last synced a month ago: ~20k changed rows, we read the first 100
SYNC_SINCE = ANCHOR - timedelta(days=30)


@dataclass(frozen=True)
class Shape:
    """One GraphQL request of the mix."""

    name: str
    description: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        """Return the JSON request body."""
        payload = {"query": self.query.strip(), "variables": self.variables}
        return json.dumps(payload, separators=(",", ":")).encode()


def list_page(first: int) -> Shape:
    """Return shape (a) with a page of ``first`` expenses."""
    return Shape(
        "list",
        f"expense list page of {first}, nested member/team/card/category/receipts",
        LIST_PAGE,
        {"first": first},
    )


def build_shapes(facts: Facts) -> list[Shape]:
    """Return the six shapes, the floor and peerbench's three for the biggest tenant."""
    return [
        list_page(LIST_PAGE_SIZE),
        Shape(
            "teams",
            "teams(first: 20) with manager and expenses(first: 5) with member",
            TEAM_OVERVIEW,
        ),
        Shape(
            "detail",
            "node(id) of one expense: all fields, receipts, events, policyViolations",
            EXPENSE_DETAIL,
            {"id": encode_id("Expense", facts.detail_expense_id)},
        ),
        Shape(
            "summary",
            "spendSummary by TEAM and MONTH over the last year, biggest tenant",
            SPEND_SUMMARY,
            {"after": SUMMARY_AFTER.isoformat(), "before": ANCHOR.isoformat()},
        ),
        Shape(
            "search",
            f'merchantSearch "{facts.merchant_term}" + statuses, page of 20',
            MERCHANT_SEARCH,
            {"term": facts.merchant_term},
        ),
        Shape(
            "sync",
            "first 100 updatedSince a month, orderBy UPDATED_AT ASC",
            INCREMENTAL_SYNC,
            {"since": SYNC_SINCE.isoformat()},
        ),
        Shape("floor", "reference: { __typename }, the fixed cost of a request", FLOOR),
        *peer_shapes(facts),
    ]


def peer_shapes(facts: Facts) -> list[Shape]:
    """Return peerbench's q1, q2 and q3 as expensegraph's contestants send them, for the
    biggest tenant's admin (q3: its detail expense)."""
    detail = {"id": encode_id("Expense", facts.detail_expense_id)}
    return [
        Shape(name, f"peerbench {name}: {what}", (DOCS / f"{name}.graphql").read_text(), variables)
        for name, what, variables in (
            ("q1", "50 newest expenses with member, card, team, category, receipts", {}),
            ("q2", "20 teams with memberCount and 5 newest expenses each", {}),
            ("q3", "node(id) of one expense with member, card, receipts", detail),
        )
    ]
