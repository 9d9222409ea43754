"""Sign-in settings: development tokens in production, and the OIDC variables checked."""

from dataclasses import replace
from pathlib import Path

import pytest

from app.auth import issue_token
from app.oidc import OidcSettings
from app.settings import ConfigError, Settings
from tests.conftest import SETTINGS, app_client, codes


def test_production_without_a_secret_turns_development_tokens_off(tmp_path: Path) -> None:
    env = {"EXPENSEGRAPH_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).hs256_tokens is False
    assert Settings.from_env(env, development=True).hs256_tokens is True
    assert Settings.from_env({**env, "EXPENSEGRAPH_JWT_SECRET": "s" * 40}).hs256_tokens is True


async def test_production_without_a_secret_refuses_hs256_tokens(
    world, engine, database_url, tmp_path: Path
) -> None:
    env = {"EXPENSEGRAPH_DATA_DIR": str(tmp_path)}
    for development, status in ((False, 401), (True, 200)):
        settings = replace(Settings.from_env(env, development=development), limits=SETTINGS.limits)
        # production has no secret at all: sign with one it could have been given
        signer = settings if development else replace(settings, jwt_secret="s" * 40)
        credential = issue_token(signer, business_id=world.a.id, member_id=world.a.members["admin"])
        async with app_client(settings, engine, database_url) as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ viewer { credential } }"},
                headers={"Authorization": f"Bearer {credential}"},
            )
        assert response.status_code == status, response.text
        if status == 401:
            assert codes(response.json()) == ["UNAUTHENTICATED"]


OIDC_ENV = {"EXPENSEGRAPH_JWT_SECRET": "s" * 40, "EXPENSEGRAPH_OIDC_AUDIENCE": "api"}


@pytest.mark.parametrize(
    "issuer", ["https://login.example.com/tenant/v2.0", "http://127.0.0.1:8080", "http://localhost"]
)
def test_oidc_settings_accept_https_and_local_http(issuer: str) -> None:
    settings = Settings.from_env({**OIDC_ENV, "EXPENSEGRAPH_OIDC_ISSUER": issuer})
    assert settings.oidc == OidcSettings(issuer=issuer, audience="api")
    assert settings.oidc.member_claim == "email" and settings.oidc.leeway_s == 60


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"EXPENSEGRAPH_OIDC_ISSUER": "http://login.example.com"}, "EXPENSEGRAPH_OIDC_ISSUER"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "http://10.0.0.5"}, "EXPENSEGRAPH_OIDC_ISSUER"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "login.example.com"}, "EXPENSEGRAPH_OIDC_ISSUER"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_JWKS_URL": "http://idp.test/keys"}, "EXPENSEGRAPH_OIDC_JWKS_URL"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS": "-1"}, "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS": "3600"}, "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_MEMBER_CLAIM": "e mail"}, "EXPENSEGRAPH_OIDC_MEMBER_CLAIM"),
    ],
)  # fmt: skip
def test_oidc_settings_refused_say_what_to_fix(extra: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env({**OIDC_ENV, **extra})


def test_oidc_issuer_and_audience_go_together() -> None:
    secret = {"EXPENSEGRAPH_JWT_SECRET": "s" * 40}
    assert Settings.from_env(secret).oidc is None
    for env in (
        {"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test"},
        {"EXPENSEGRAPH_OIDC_AUDIENCE": "api"},
    ):
        with pytest.raises(
            ConfigError, match=r"EXPENSEGRAPH_OIDC_ISSUER.*EXPENSEGRAPH_OIDC_AUDIENCE"
        ):
            Settings.from_env({**secret, **env})
    with pytest.raises(ConfigError, match="EXPENSEGRAPH_OIDC_JWKS_URL is set"):
        Settings.from_env({**secret, "EXPENSEGRAPH_OIDC_JWKS_URL": "https://idp.test/keys"})
