"""Settings: read once from the environment, validated with messages that say what to do."""

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.admission import AdmissionSettings
from app.limits import LimitSettings
from app.oidc import OidcSettings, url_problem
from db.connect import PoolSettings


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Built by :meth:`from_env`, passed in, never global."""

    database_url: str | None = None
    data_dir: Path = Path(".expensegraph")
    jwt_secret: str = ""
    jwt_issuer: str = "expensegraph"
    jwt_audience: str = "expensegraph-api"
    token_ttl_s: int = 12 * 3600
    # how long a credential read stands for the fast lane's queries (app/auth.py
    # LastPrincipals); 0 (here, so the tests' direct SQL changes count at once): read each time
    credential_cache_s: float = 0.0
    # HS256 development tokens (issue_token) accepted; from_env: demo, or an explicit secret
    hs256_tokens: bool = True
    # sign-in with the company's identity provider (app/oidc.py); None: off
    oidc: OidcSettings | None = None
    graphiql: bool = True
    introspection: bool = True
    development: bool = False
    pool: PoolSettings = field(default_factory=PoolSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    # SIGTERM: in-flight requests get this long to finish, new connections are refused
    shutdown_grace_s: int = 25
    # a request body must arrive within this long, before it takes a slot or a connection
    body_timeout_s: float = 10.0
    # browser origins allowed to call the API (CORS); none by default
    cors_origins: tuple[str, ...] = ()
    # rate-limit buckets shared by all workers and replicas; in process when unset
    redis_url: str | None = None
    # only the operations of the persisted query manifest run (app/persisted.py)
    persisted_only: bool = False
    # Apollo persisted query manifest: registered operations, needed by persisted_only
    persisted_queries_file: Path | None = None
    # off only to measure what DataLoader batching saves (bench/)
    loader_batching: bool = True
    # False runs every operation through graphql-core's standard executor (the reference)
    # known queries served by the fast lane at the edge (app/lane.py), and query operations
    # run by their plan inside strawberry (execution/context.py); both False: the reference
    fast_lane: bool = True
    # webhook endpoints may be http:// or private addresses: development and tests only
    webhooks_allow_private: bool = False
    subscriptions_per_credential: int = 20  # open subscriptions of one credential at once
    # a subscriber is too slow (closed with 4408) when a message waits this long to be
    # written to its socket, or when more than subscription_backlog messages wait
    subscription_slow_s: float = 10.0
    subscription_backlog: int = 5000
    # permessage-deflate on websockets: off, a fan-out compresses every message once per
    # socket (most of its CPU per message) to save little on small JSON messages
    ws_compression: bool = False
    planned_execution: bool = True
    # receipt files: None means <data_dir>/receipts
    receipts_dir: Path | None = None
    # signs receipt download links; "" derives a key from jwt_secret
    receipt_url_secret: str = ""
    receipt_url_ttl_s: int = 15 * 60

    @property
    def receipt_root(self) -> Path:
        """Return the directory receipt files are kept in."""
        return self.receipts_dir or self.data_dir / "receipts"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] = os.environ,
        *,
        development: bool = False,
        local_secret: bool | None = None,
    ) -> "Settings":
        """Return settings from ``EXPENSEGRAPH_*`` variables and ``DATABASE_URL``.

        ``local_secret`` (default: ``development``) creates the data directory's token
        secret when missing, as ``demo`` and ``token`` do; ``serve`` only reads it.
        """
        data_dir = Path(env.get("EXPENSEGRAPH_DATA_DIR", ".expensegraph"))
        create = development if local_secret is None else local_secret
        jwt_secret = env.get("EXPENSEGRAPH_JWT_SECRET") or _local_secret(
            data_dir, "jwt-secret", create=create
        )
        database_url = env.get("DATABASE_URL") or None
        if database_url is not None:
            _check_database_url(database_url)
        return cls(
            database_url=database_url,
            data_dir=data_dir,
            jwt_secret=jwt_secret,
            jwt_issuer=env.get("EXPENSEGRAPH_JWT_ISSUER", "expensegraph"),
            jwt_audience=env.get("EXPENSEGRAPH_JWT_AUDIENCE", "expensegraph-api"),
            token_ttl_s=_int(env, "EXPENSEGRAPH_TOKEN_TTL_SECONDS", 12 * 3600, low=60),
            credential_cache_s=_int(
                env, "EXPENSEGRAPH_CREDENTIAL_CACHE_MS", 1000, low=0, high=60_000
            )
            / 1000,
            # development tokens only with a secret someone configured: the variable, or the
            # data directory's, made by demo or token (serve never makes one)
            hs256_tokens=bool(jwt_secret),
            oidc=_oidc(env),
            # production (serve) keeps the schema to itself unless told otherwise; demo shows it
            graphiql=_bool(env, "EXPENSEGRAPH_GRAPHIQL", development),
            introspection=_bool(env, "EXPENSEGRAPH_INTROSPECTION", development),
            loader_batching=_bool(env, "EXPENSEGRAPH_LOADER_BATCHING", True),
            fast_lane=_bool(env, "EXPENSEGRAPH_FAST_LANE", True),
            webhooks_allow_private=_bool(env, "EXPENSEGRAPH_WEBHOOK_ALLOW_PRIVATE", development),
            subscriptions_per_credential=_int(
                env, "EXPENSEGRAPH_SUBSCRIPTIONS_PER_CREDENTIAL", 20, low=1
            ),
            subscription_slow_s=_int(env, "EXPENSEGRAPH_SUBSCRIPTION_SLOW_SECONDS", 10, low=1),
            subscription_backlog=_int(env, "EXPENSEGRAPH_SUBSCRIPTION_BACKLOG", 5000, low=10),
            ws_compression=_bool(env, "EXPENSEGRAPH_WS_COMPRESSION", False),
            planned_execution=_bool(env, "EXPENSEGRAPH_PLANNED_EXECUTION", True),
            redis_url=env.get("EXPENSEGRAPH_REDIS_URL") or None,
            persisted_only=_bool(env, "EXPENSEGRAPH_PERSISTED_ONLY", False),
            persisted_queries_file=Path(env["EXPENSEGRAPH_PERSISTED_QUERIES_FILE"])
            if env.get("EXPENSEGRAPH_PERSISTED_QUERIES_FILE")
            else None,
            shutdown_grace_s=_int(env, "EXPENSEGRAPH_SHUTDOWN_GRACE_SECONDS", 25, low=1),
            body_timeout_s=_int(env, "EXPENSEGRAPH_BODY_TIMEOUT_SECONDS", 10, low=1),
            cors_origins=_origins(env.get("EXPENSEGRAPH_CORS_ORIGINS", "")),
            limits=LimitSettings(
                max_depth=_int(env, "EXPENSEGRAPH_MAX_DEPTH", 10, low=2),
                max_aliases=_int(env, "EXPENSEGRAPH_MAX_ALIASES", 15, low=0),
                max_directives=_int(env, "EXPENSEGRAPH_MAX_DIRECTIVES", 5, low=0),
                max_tokens=_int(env, "EXPENSEGRAPH_MAX_TOKENS", 2000, low=50),
                max_fields=_int(env, "EXPENSEGRAPH_MAX_FIELDS", 500, low=10),
                max_cost=_int(env, "EXPENSEGRAPH_MAX_QUERY_COST", 1000, low=10),
                bucket_size=_int(env, "EXPENSEGRAPH_RATE_BUCKET_SIZE", 1000, low=10),
                restore_rate=_int(env, "EXPENSEGRAPH_RATE_RESTORE_PER_SECOND", 50, low=1),
            ),
            admission=AdmissionSettings(
                # 0 (unset): the pool's size plus its overflow
                max_in_flight=_int(env, "EXPENSEGRAPH_MAX_IN_FLIGHT", 0, low=1) or None,
                queue=_int(env, "EXPENSEGRAPH_ADMISSION_QUEUE", 100, low=0),
                timeout_s=_int(env, "EXPENSEGRAPH_ADMISSION_TIMEOUT_SECONDS", 10, low=1),
            ),
            development=development,
            pool=PoolSettings(
                size=_int(env, "EXPENSEGRAPH_POOL_SIZE", 10, low=1),
                max_overflow=_int(env, "EXPENSEGRAPH_POOL_OVERFLOW", 5, low=0),
                timeout_s=_int(env, "EXPENSEGRAPH_POOL_TIMEOUT_SECONDS", 3, low=1),
                statement_timeout_ms=_int(env, "EXPENSEGRAPH_STATEMENT_TIMEOUT_MS", 5000, low=100),
            ),
            receipts_dir=Path(env.get("EXPENSEGRAPH_RECEIPTS_DIR") or data_dir / "receipts"),
            # links need a key even when no token secret exists: a local one of their own
            receipt_url_secret=env.get("EXPENSEGRAPH_RECEIPT_URL_SECRET")
            or ("" if jwt_secret else _local_secret(data_dir, "receipt-url-secret", create=True)),
            receipt_url_ttl_s=_int(env, "EXPENSEGRAPH_RECEIPT_URL_TTL_SECONDS", 15 * 60, low=10),
        )


def _check_database_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"DATABASE_URL is not a database URL: {url!r}. Use the form "
            "postgresql://USER:PASSWORD@HOST:5432/DBNAME, or unset DATABASE_URL to run on "
            "the embedded PostgreSQL."
        ) from None
    if not parsed.drivername.startswith("postgres"):
        raise ConfigError(
            f"DATABASE_URL must point at PostgreSQL (got scheme {parsed.drivername!r}). "
            "Use postgresql://USER:PASSWORD@HOST:5432/DBNAME."
        )


OIDC_OPTIONAL = (
    "EXPENSEGRAPH_OIDC_JWKS_URL",
    "EXPENSEGRAPH_OIDC_MEMBER_CLAIM",
    "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS",
)


def _oidc(env: Mapping[str, str]) -> OidcSettings | None:
    """Return the identity provider's settings, None when no EXPENSEGRAPH_OIDC_* is set."""
    issuer = env.get("EXPENSEGRAPH_OIDC_ISSUER", "").strip()
    audience = env.get("EXPENSEGRAPH_OIDC_AUDIENCE", "").strip()
    if not issuer and not audience:
        extra = [name for name in OIDC_OPTIONAL if env.get(name)]
        if extra:
            raise ConfigError(
                f"{extra[0]} is set but EXPENSEGRAPH_OIDC_ISSUER is not: set ISSUER and "
                "AUDIENCE to sign in with an identity provider, or unset it."
            )
        return None
    if not issuer or not audience:
        raise ConfigError(
            "Set both EXPENSEGRAPH_OIDC_ISSUER (the identity provider's issuer URL, exactly as "
            "its tokens' 'iss' says) and EXPENSEGRAPH_OIDC_AUDIENCE (the 'aud' its access "
            "tokens carry for this API), or neither."
        )
    jwks_url = env.get("EXPENSEGRAPH_OIDC_JWKS_URL", "").strip() or None
    for name, url in (
        ("EXPENSEGRAPH_OIDC_ISSUER", issuer),
        ("EXPENSEGRAPH_OIDC_JWKS_URL", jwks_url),
    ):
        problem = url_problem(url) if url is not None else None
        if problem:
            raise ConfigError(f"{name} {problem}; got {url!r}.")
    claim = env.get("EXPENSEGRAPH_OIDC_MEMBER_CLAIM", "").strip() or "email"
    if not claim.isprintable() or " " in claim:
        raise ConfigError(f"EXPENSEGRAPH_OIDC_MEMBER_CLAIM must be a claim name, got {claim!r}.")
    leeway = _int(env, "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS", 60, low=0)
    if leeway > 600:
        raise ConfigError(f"EXPENSEGRAPH_OIDC_LEEWAY_SECONDS must be at most 600, got {leeway}.")
    return OidcSettings(
        issuer=issuer, audience=audience, jwks_url=jwks_url, member_claim=claim, leeway_s=leeway
    )


def _origins(raw: str) -> tuple[str, ...]:
    """Return the comma-separated CORS origins, each checked to be scheme://host[:port]."""
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        scheme, sep, rest = origin.partition("://")
        if origin != "*" and (
            scheme not in ("http", "https") or not sep or not rest or "/" in rest
        ):
            raise ConfigError(
                f"EXPENSEGRAPH_CORS_ORIGINS: {origin!r} is not an origin; use a comma-separated "
                "list like https://dashboard.example.com,http://localhost:3000 (no paths)."
            )
    return origins


def _int(
    env: Mapping[str, str], name: str, default: int, *, low: int, high: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, got {value}.")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be at most {high}, got {value}.")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}.")


def _local_secret(data_dir: Path, name: str, *, create: bool) -> str:
    """Return the secret kept in the data directory's file ``name``, creating it if asked.

    Production sets EXPENSEGRAPH_JWT_SECRET; locally a generated secret keeps printed
    tokens valid across restarts without any setup. "" when missing and not created.
    """
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    if not create:
        return ""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
