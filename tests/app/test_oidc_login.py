"""Signing in with a provider's token: the member it names, their role, and who is refused."""

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import delete, func, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import oidc
from db.tables.org import businesses, members
from tests.app.helpers_oidc import oidc_settings, signed_in
from tests.conftest import token


@dataclass(frozen=True)
class OwnBusiness:
    """A business of this module's own, for members the tests deactivate or duplicate."""

    id: int
    other_id: int


@pytest.fixture(scope="module")
async def own(engine: AsyncEngine) -> AsyncIterator[OwnBusiness]:
    async with engine.begin() as conn:
        ids = [
            (
                await conn.execute(
                    insert(businesses)
                    .values(name=f"OIDC test {n}", home_currency="GBP")
                    .returning(businesses.c.id)
                )
            ).scalar_one()
            for n in (1, 2)
        ]
    yield OwnBusiness(*ids)
    async with engine.begin() as conn:  # members go with their business (ON DELETE CASCADE)
        await conn.execute(delete(businesses).where(businesses.c.id.in_(ids)))


async def add_member(engine: AsyncEngine, business_id: int, email: str, role: str) -> int:
    async with engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    insert(members)
                    .values(business_id=business_id, name=email, email=email, role=role)
                    .returning(members.c.id)
                )
            ).scalar_one()
        )


def fresh_email() -> str:
    return f"oidc-{uuid.uuid4().hex[:12]}@oidc.test"


# --- signing in ---


async def test_rs256_and_es256_tokens_sign_in_with_the_database_role(signin, world, keys):
    employee = signin.claims("employee@alpha.test", role="ADMIN")  # a role claim is ignored
    data = await signin.viewer(keys.rsa.sign(employee))
    assert data["viewer"] == {
        "credential": "MEMBER",
        "member": {"email": "employee@alpha.test", "role": "EMPLOYEE"},
    }
    assert data["members"]["totalCount"] == 1  # an employee sees only themself
    data = await signin.viewer(keys.ec.sign(signin.claims("admin@alpha.test")))
    assert data["viewer"]["member"] == {"email": "admin@alpha.test", "role": "ADMIN"}
    assert data["members"]["totalCount"] == len(world.a.members)
    # the provider was asked once: discovery, then its keys
    assert signin.idp.requests == {"/.well-known/openid-configuration": 1, "/jwks": 1}


async def test_email_claim_is_matched_without_case(signin, keys):
    data = await signin.viewer(keys.rsa.sign(signin.claims("Finance@Alpha.TEST")))
    assert data["viewer"]["member"]["email"] == "finance@alpha.test"


async def test_a_verified_token_is_kept_but_still_expires(signin, keys):
    now = int(time.time())
    short = keys.rsa.sign(signin.claims("admin@alpha.test", exp=now + 2))
    await signin.viewer(short)
    await signin.viewer(short)  # from the cache
    verifier = oidc.verifier(signin.settings.oidc)
    found = verifier._verified[short]
    verifier._verified[short] = replace(found, expiry=now - 61)  # beyond the 60 s leeway
    assert "expired" in (await signin.refused(short)).lower()


async def test_development_tokens_keep_working_next_to_the_provider(signin, world):
    data = await signin.viewer(token(world.a, "manager"))
    assert data["viewer"]["member"]["role"] == "MANAGER"


async def test_another_member_claim(world, idp, keys, engine, database_url):
    settings = oidc_settings(idp, member_claim="upn")
    async with signed_in(idp, keys, settings, engine, database_url) as signin:
        claims = signin.claims("someone@else.test", upn="engineer@alpha.test")
        data = await signin.viewer(keys.ec.sign(claims))
        assert data["viewer"]["member"]["email"] == "engineer@alpha.test"
        assert "'upn'" in await signin.refused(keys.ec.sign(signin.claims("admin@alpha.test")))


async def test_explicit_jwks_url_skips_discovery(world, idp, keys, engine, database_url):
    settings = oidc_settings(idp, jwks_url=idp.issuer + "/jwks")
    async with signed_in(idp, keys, settings, engine, database_url) as signin:
        await signin.viewer(keys.rsa.sign(signin.claims("admin@alpha.test")))
        assert idp.requests == {"/jwks": 1}


# --- members ---


async def test_deactivated_member_is_refused(signin, keys, engine, own):
    email = fresh_email()
    member_id = await add_member(engine, own.id, email, "MANAGER")
    credential = keys.rsa.sign(signin.claims(email))
    data = await signin.viewer(credential)
    assert data["viewer"]["member"] == {"email": email, "role": "MANAGER"}
    async with engine.begin() as conn:
        await conn.execute(
            update(members)
            .where(members.c.business_id == own.id, members.c.id == member_id)
            .values(deactivated_at=func.now())
        )
    assert "no active member" in (await signin.refused(credential)).lower()


async def test_role_is_read_again_on_every_request(signin, keys, engine, own):
    email = fresh_email()
    member_id = await add_member(engine, own.id, email, "EMPLOYEE")
    credential = keys.ec.sign(signin.claims(email))
    assert (await signin.viewer(credential))["viewer"]["member"]["role"] == "EMPLOYEE"
    async with engine.begin() as conn:
        await conn.execute(
            update(members)
            .where(members.c.business_id == own.id, members.c.id == member_id)
            .values(role="FINANCE")
        )
    assert (await signin.viewer(credential))["viewer"]["member"]["role"] == "FINANCE"


async def test_unknown_email_is_refused(signin, keys):
    assert (
        "no active member"
        in (await signin.refused(keys.rsa.sign(signin.claims(fresh_email())))).lower()
    )


async def test_email_active_in_two_businesses_is_ambiguous(signin, keys, engine, own):
    email = fresh_email()
    await add_member(engine, own.id, email, "ADMIN")
    other = await add_member(engine, own.other_id, email, "EMPLOYEE")
    credential = keys.rsa.sign(signin.claims(email))
    assert "several businesses" in await signin.refused(credential)
    # once one of them is deactivated, the other is who the email names
    async with engine.begin() as conn:
        await conn.execute(
            update(members)
            .where(members.c.business_id == own.other_id, members.c.id == other)
            .values(deactivated_at=func.now())
        )
    assert (await signin.viewer(credential))["viewer"]["member"]["role"] == "ADMIN"
