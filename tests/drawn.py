"""Random GraphQL documents over the committed schema, drawn by hypothesis-graphql (seeded)."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries

SDL = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()


def drawn_queries(count: int, *, instants: list[str], date: str, decimals: list[str]) -> list[str]:
    """Return ``count`` queries over the Query type, custom scalars taken from these values."""
    drawn: list[str] = []
    scalars = {
        "DateTime": st.sampled_from(instants).map(nodes.String),
        "Date": st.just(date).map(nodes.String),
        "Decimal": st.sampled_from(decimals).map(nodes.String),
    }

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(queries(SDL, custom_scalars=scalars))
    def draw(query: str) -> None:
        drawn.append(query)

    draw()
    return drawn
