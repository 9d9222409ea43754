"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.fuzz_hooks): strategies for our custom scalars."""

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# decimal strings as clients send them, including ones the API must refuse politely
_DECIMALS = st.one_of(
    st.decimals(
        min_value=-(10**12), max_value=10**12, places=3, allow_nan=False, allow_infinity=False
    ).map(str),
    st.sampled_from(["0", "-1", "1e30", "NaN", "Infinity", "12.345678", "", "abc"]),
)
schemathesis.graphql.scalar("Decimal", _DECIMALS.map(nodes.String))
