"""Lone surrogates in strings and token claims that do not fit a bigint: the client's error
(BAD_USER_INPUT, INVALID_VALUE or 401), never INTERNAL or HTTP 500.
"""

import time
from typing import Any

import jwt
import pytest

from resolvers.errors import DomainError
from resolvers.expense_args import expense_spec
from resolvers.mutations import rules
from resolvers.mutations.rules import RuleError
from tests.conftest import SETTINGS, codes, gql, gql_raw, token
from tests.security.helpers_out_of_range import (
    CREATE,
    EXPENSES,
    assert_bad_input,
    created,
    ledger,
    post_ascii,
    user_errors,
)
from tests.world import World

# --- 5. lone surrogates in strings ---


async def test_a_lone_surrogate_in_a_string_literal_is_a_syntax_error(client, world: World):
    # graphql-core refuses "\ud800" (and the raw character) in the document itself
    query = '{ expenses(filter: {merchantSearch: "\\ud800"}) { nodes { id } } }'
    response = await gql_raw(client, query, as_=token(world.a, "admin"))
    body = response.json()
    assert response.status_code in (200, 400), body
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_a_lone_surrogate_in_a_search_variable(client, world: World):
    f = {"merchantSearch": "caf\ud800"}
    response = await post_ascii(client, EXPENSES, {"f": f}, as_=token(world.a, "admin"))
    if response.status_code == 400:  # the JSON body parser refuses it before the resolver
        return
    assert_bad_input(response, "merchantSearch")


@pytest.mark.parametrize("field", ["merchantName", "description"])
async def test_a_lone_surrogate_in_a_create_variable(client, engine, shop, field):
    before = await ledger(engine, shop)
    input_ = created(**{field: "caf\udfff"})
    response = await post_ascii(client, CREATE, {"input": input_}, as_=token(shop, "employee"))
    if response.status_code != 400:  # else: the JSON body parser refused it
        assert user_errors(response) == [(field, "INVALID_VALUE")]
    assert await ledger(engine, shop) == before


# Not here: a DateTime, Decimal or enum variable holding one fails coercion with a message
# that quotes it raw, which the response encoder cannot encode; the HTTP layer refuses
# such bodies before that.
@pytest.mark.parametrize(
    "filter_",
    [{"memberIds": ["\ud800"]}, {"currencies": ["\ud800"]}, {"merchantSearch": "\udc00" * 101}],
)
async def test_lone_surrogates_in_other_filter_variables(client, world: World, filter_):
    # the error message may quote the value: it must not make the response unencodable
    response = await post_ascii(client, EXPENSES, {"f": filter_}, as_=token(world.a, "admin"))
    body = response.json()
    assert response.status_code in (200, 400), body
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_a_lone_surrogate_in_a_money_currency(client, engine, shop):
    before = await ledger(engine, shop)
    input_ = created(amount={"amount": "1", "currency": "\ud800"})
    response = await post_ascii(client, CREATE, {"input": input_}, as_=token(shop, "employee"))
    if response.status_code != 400:  # else: the JSON body parser refused it
        assert user_errors(response) == [("amount.currency", "UNKNOWN_CURRENCY")]
    assert await ledger(engine, shop) == before


def test_filter_strings_with_lone_surrogates_are_bad_user_input():
    class Filter:
        def __getattr__(self, name: str) -> Any:
            return "caf\ud800" if name == "merchant_search" else None

    with pytest.raises(DomainError) as raised:
        expense_spec(Filter(), None)  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.field) == ("BAD_USER_INPUT", "merchantSearch")


@pytest.mark.parametrize("value", ["\ud800", "a\udc00b", " \udbff "])
def test_mutation_texts_with_lone_surrogates_are_invalid_values(value):
    with pytest.raises(RuleError) as raised:
        rules.clean_text(value, "reason", max_length=100)
    assert [(e.field, e.code) for e in raised.value.errors] == [("reason", "INVALID_VALUE")]


def test_mutation_texts_keep_valid_unicode():
    assert (
        rules.clean_text("  caf\u00e9 \U0001f600 ", "reason", max_length=100)
        == "caf\u00e9 \U0001f600"
    )


# --- 6. token claims that do not fit a bigint: 401 like any invalid token ---


def signed(**claims: Any) -> str:
    now = int(time.time())
    base = {"iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience, "iat": now, "exp": now + 600}
    return jwt.encode({**base, **claims}, SETTINGS.jwt_secret, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": str(2**63)},
        {"sub": str(10**30)},
        {"sub": "-1"},
        {"sub": "0"},
        {"sub": "1.5"},
        {"sub": " 1"},
        {"sub": "1_0"},
        {"sub": "\u0661"},  # an Arabic-Indic one: int() takes it
        {"sub": "true"},
        {"bid": 2**63},
        {"bid": 10**30},
        {"bid": -1},
        {"bid": 0},
        {"bid": 1.0},
        {"bid": True},
        {"bid": "1"},
        {"bid": None},
        {"bid": [1]},
        {"sub": 1},  # "sub" is a string
        {"exp": float("inf")},  # int() of it is an OverflowError
        {"iat": float("inf")},
        {"nbf": float("-inf")},
        {"exp": float("nan")},
    ],
    ids=lambda claims: repr(claims),
)
async def test_token_claims_out_of_range_are_unauthenticated(client, world: World, claims):
    good = {"sub": str(world.a.members["admin"]), "bid": world.a.id}
    response = await gql_raw(client, "{ viewer { credential } }", as_=signed(**{**good, **claims}))
    body = response.json()
    assert response.status_code == 401, body
    assert codes(body) == ["UNAUTHENTICATED"], body


async def test_a_well_formed_signed_token_still_works(client, world: World):
    claims = {"sub": str(world.a.members["admin"]), "bid": world.a.id}
    data = await gql(client, "{ viewer { credential } }", as_=signed(**claims))
    assert data == {"viewer": {"credential": "MEMBER"}}
