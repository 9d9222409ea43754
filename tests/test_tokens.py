"""Unit tests of credentials (app/auth.py), global ids and cursors (resolvers/): no database."""

import base64
import hashlib
import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from app.auth import API_KEY_PREFIX, AuthError, authenticate, hash_secret, issue_token, new_api_key
from db.nodes import NODE_TYPES
from resolvers.errors import DomainError, ErrorCode
from resolvers.ids import decode_id, decode_ids_of, encode_id, urlsafe_b64
from resolvers.paging import decode_cursor, encode_cursor
from tests.conftest import SETTINGS

KEY_FORMAT = re.compile(r"egk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")

# --- API keys ---


def test_new_api_key_format():
    prefix, key = new_api_key()
    match = KEY_FORMAT.fullmatch(key)
    assert match, key
    assert match.group(1) == prefix
    assert key.startswith(f"{API_KEY_PREFIX}_{prefix}_")


def test_new_api_keys_are_unique():
    keys = [new_api_key() for _ in range(2000)]
    assert len({prefix for prefix, _ in keys}) == len(keys)
    assert len({key for _, key in keys}) == len(keys)
    assert len({key.split("_", 2)[2] for _, key in keys}) == len(keys)


def test_api_key_secret_carries_256_bits():
    _, key = new_api_key()
    secret = key.split("_", 2)[2]
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32


def test_hash_secret_is_sha256_of_the_whole_key():
    _, key = new_api_key()
    digest = hash_secret(key)
    assert isinstance(digest, bytes)
    assert len(digest) == 32
    assert digest == hashlib.sha256(key.encode()).digest()
    assert hash_secret(key) == digest  # deterministic: looked up by comparison
    assert hash_secret(key + "x") != digest
    assert key.encode() not in digest


# --- user tokens ---


def decode(token: str, **kwargs: Any) -> dict[str, Any]:
    return jwt.decode(
        token,
        SETTINGS.jwt_secret,
        algorithms=["HS256"],
        audience=SETTINGS.jwt_audience,
        issuer=SETTINGS.jwt_issuer,
        **kwargs,
    )


def test_issue_token_claims():
    before = int(time.time())
    token = issue_token(SETTINGS, business_id=7, member_id=42)
    after = int(time.time())
    claims = decode(token)
    assert claims["iss"] == SETTINGS.jwt_issuer == "expensegraph"
    assert claims["aud"] == SETTINGS.jwt_audience == "expensegraph-api"
    assert claims["sub"] == "42"
    assert claims["bid"] == 7
    assert before <= claims["iat"] <= after
    assert claims["exp"] == claims["iat"] + SETTINGS.token_ttl_s
    assert "role" not in claims  # the role is read from the database
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_issue_token_ttl():
    claims = decode(issue_token(SETTINGS, business_id=1, member_id=1, ttl_s=90))
    assert claims["exp"] - claims["iat"] == 90


def test_issued_token_needs_the_secret():
    token = issue_token(SETTINGS, business_id=1, member_id=1)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            "another-secret-" + "y" * 32,
            algorithms=["HS256"],
            audience=SETTINGS.jwt_audience,
        )


def test_issued_tokens_differ_by_member_and_business():
    tokens = {issue_token(SETTINGS, business_id=b, member_id=m) for b in (1, 2) for m in (1, 2)}
    assert len(tokens) == 4


# --- authenticate: the checks that run before any database lookup ---


async def test_authenticate_without_header_is_anonymous():
    assert await authenticate(None, db=None, settings=SETTINGS) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header", ["Basic abc", "Token abc", "Bearer", "Bearer   ", "", "abc", "Bearerabc"]
)
async def test_authenticate_rejects_bad_headers(header):
    with pytest.raises(AuthError):
        await authenticate(header, db=None, settings=SETTINGS)  # type: ignore[arg-type]


async def test_authenticate_rejects_expired_token_before_lookup():
    now = int(time.time())
    claims = {
        "iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience, "sub": "1", "bid": 1,
        "iat": now - 100, "exp": now - 50,
    }  # fmt: skip
    expired = jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")
    with pytest.raises(AuthError, match="expired"):
        await authenticate(f"Bearer {expired}", db=None, settings=SETTINGS)  # type: ignore[arg-type]


async def test_authenticate_rejects_garbage_token_before_lookup():
    with pytest.raises(AuthError) as error:
        await authenticate("Bearer a.b.c", db=None, settings=SETTINGS)  # type: ignore[arg-type]
    assert "a.b.c" not in str(error.value)


# --- global ids ---


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
@pytest.mark.parametrize("id_", [1, 2, 12, 999, 2**31, 2**63 - 1])
def test_id_round_trip(type_name, id_):
    global_id = encode_id(type_name, id_)
    assert decode_id(global_id) == (type_name, id_)
    assert "=" not in global_id
    assert re.fullmatch(r"[A-Za-z0-9_-]+", global_id)


def test_id_is_base64url_of_type_and_id():
    assert encode_id("Expense", 12) == "RXhwZW5zZToxMg"
    assert base64.urlsafe_b64decode("RXhwZW5zZToxMg==") == b"Expense:12"


@pytest.mark.parametrize("raw", [b"", b"a", b"ab", b"abc", b"\xfb\xff\xfe", bytes(range(256))])
def test_urlsafe_b64_is_unpadded_urlsafe_base64(raw):
    assert urlsafe_b64(raw) == base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("spent_at", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
        (
            "updated_at",
            datetime(2026, 11, 1, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("home_amount_minor", 123456),
        ("home_amount_minor", -7),
    ],
)
def test_cursor_is_base64url_of_its_json(column, value):
    row = SimpleNamespace(id=42, **{column: value})
    shown = value.isoformat() if isinstance(value, datetime) else value
    expected = b64(json.dumps([column, shown, 42]))
    assert encode_cursor(column, row) == expected
    assert decode_cursor(expected, column, field="after") == (value, 42)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


MALFORMED = {
    "empty": "",
    "not base64": "not an id!",
    "raw text": "Expense:12",
    "truncated": encode_id("Expense", 12)[:-1],
    "one char": "a",
    "only padding": "====",
    "no colon": b64("Expense12"),
    "no id": b64("Expense:"),
    "no type": b64(":12"),
    "unknown type": b64("Invoice:12"),
    "lower-case type": b64("expense:12"),
    "interface name": b64("Node:12"),
    "non-integer": b64("Expense:abc"),
    "float": b64("Expense:1.5"),
    "hex": b64("Expense:0x10"),
    "negative": b64("Expense:-1"),
    "zero": b64("Expense:0"),
    "leading zero": b64("Expense:012"),
    "plus sign": b64("Expense:+12"),
    "spaces": b64("Expense: 12 "),
    "underscore digits": b64("Expense:1_2"),
    "non-ascii digits": b64("Expense:١٢"),
    "too big": b64(f"Expense:{2**63}"),
    "extra colon": b64("Expense:12:3"),
    "not utf-8": base64.urlsafe_b64encode(b"Expense:\xff\xfe").decode().rstrip("="),
    "padding in the middle": "RXhwZW5zZTox==Mg",
    "data after padding": "RXhwZW5zZToxMg=A",
}


# Spellings that decode leniently to a real id. Ids are unpadded base64url, so each of
# these is a second name for Expense 12; they should be refused like any malformed id.
NON_CANONICAL = {
    "standard padding": "RXhwZW5zZToxMg==",
    "excess padding": "RXhwZW5zZToxMg====",
    "junk characters": "RXhw!!!!ZW5zZToxMg",
    "dots": "RXhw....ZW5zZToxMg",
    "trailing spaces": "RXhw ZW5zZToxMg   ",
}


@pytest.mark.parametrize("case", [*MALFORMED, *NON_CANONICAL])
def test_malformed_and_non_canonical_ids_are_bad_user_input(case):
    with pytest.raises(DomainError) as error:
        decode_id((MALFORMED | NON_CANONICAL)[case])
    assert error.value.code is ErrorCode.BAD_USER_INPUT


def test_malformed_id_message_is_bounded():
    with pytest.raises(DomainError) as error:
        decode_id("x" * 10_000)
    assert len(error.value.message) < 100


def test_decode_ids_of():
    assert decode_ids_of("Member", None, field="memberIds") is None
    assert decode_ids_of("Member", [], field="memberIds") == ()
    ids = [encode_id("Member", 3), encode_id("Member", 1)]
    assert decode_ids_of("Member", ids, field="memberIds") == (3, 1)


def test_decode_ids_of_wrong_type_names_the_field():
    with pytest.raises(DomainError) as error:
        decode_ids_of("Member", [encode_id("Team", 1)], field="memberIds")
    assert error.value.code is ErrorCode.BAD_USER_INPUT
    assert error.value.field == "memberIds"


def test_decode_ids_of_caps_the_list():
    ids = [encode_id("Team", i) for i in range(1, 102)]
    with pytest.raises(DomainError) as error:
        decode_ids_of("Team", ids, field="teamIds")
    assert error.value.code is ErrorCode.BAD_USER_INPUT
    assert decode_ids_of("Team", ids[:100], field="teamIds") == tuple(range(1, 101))
