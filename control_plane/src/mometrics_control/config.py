"""Settings of the control plane, read from MOMETRICS_* environment variables.

Every process (api, gateway, worker, scheduler) reads the same Settings, so a
deployment sets one environment for all of them. Values are validated at
start; a bad value stops the process with one line naming the variable.
"""

from __future__ import annotations

import enum
import functools
import urllib.parse
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ConfigError(Exception):
    """Invalid configuration; the message names the variable and the fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOMETRICS_", extra="ignore")

    env: Environment = Environment.PRODUCTION
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/mometrics"
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: SecretStr = SecretStr("")
    # Signing keys for rotation: `kid:secret` pairs, comma separated. The
    # first key signs new tokens and every listed key verifies. Empty uses
    # jwt_secret under the key id "k1".
    jwt_keys: SecretStr = SecretStr("")
    jwt_issuer: str = "mometrics"
    jwt_audience: str = "mometrics-api"
    access_token_ttl_s: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=3600, le=365 * 86_400)

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65_535)
    # Origins allowed by CORS, comma separated; empty allows none.
    cors_origins: Annotated[list[str], NoDecode] = []
    # Folder of the built dashboard served at /; empty serves none.
    dashboard_dir: str = ""

    # host:port the gateway listens on.
    gateway_listen: str = "127.0.0.1:50051"
    gateway_tls_cert: str = ""
    gateway_tls_key: str = ""
    # Replica name in logs and in Redis; defaults to host name and pid.
    gateway_id: str = ""
    heartbeat_interval_s: int = Field(default=10, ge=1, le=300)
    # An agent silent for this many heartbeat periods is considered gone.
    liveness_heartbeats: int = Field(default=3, ge=2, le=20)
    max_batch_results: int = Field(default=5000, ge=1, le=100_000)
    # Local address of the gateway's Prometheus /metrics; port 0 serves none.
    gateway_metrics_host: str = "127.0.0.1"
    gateway_metrics_port: int = Field(default=0, ge=0, le=65_535)

    # Allow monitors aimed at loopback, private and link-local addresses.
    allow_private_targets: bool = False
    # Days of raw results kept before their partitions are dropped.
    retention_days: int = Field(default=90, ge=1, le=3650)

    # Notifications. An email channel needs smtp_host; the connection is
    # upgraded with STARTTLS unless smtp_starttls is off.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "mometrics@localhost"
    smtp_starttls: bool = True
    # PEM bundle of CAs to trust for STARTTLS; empty uses the system store.
    smtp_ca_file: str = ""
    pagerduty_events_url: str = "https://events.pagerduty.com"
    telegram_api_url: str = "https://api.telegram.org"
    # Notifications older than this are dropped and logged, not sent.
    notification_max_age_s: int = Field(default=86_400, ge=60, le=30 * 86_400)
    # Seconds a worker holds a notification while sending it.
    notification_lease_s: int = Field(default=120, ge=1, le=3600)
    notification_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # Base URL of the dashboard as users reach it, such as
    # https://mometrics.example.com. Links in emails start with it, so
    # invitation emails are sent only when it and smtp_host are both set.
    public_url: str = ""
    # Seconds an organisation invitation can be accepted after it is created.
    invitation_ttl_s: int = Field(default=7 * 86_400, ge=3600, le=90 * 86_400)

    log_level: str = "INFO"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return to_asyncpg_url(value)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "must be an http:// or https:// URL, such as https://mometrics.example.com"
            )
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.jwt_keys.get_secret_value():
            keys = parse_jwt_keys(self.jwt_keys.get_secret_value())
            is_short = any(len(secret) < 32 for secret in keys.values())
            if self.env is Environment.PRODUCTION and is_short:
                raise ValueError("MOMETRICS_JWT_KEYS has a secret shorter than 32 characters")
            if not self.jwt_secret.get_secret_value():
                # The first key also stands in for the single secret.
                self.jwt_secret = SecretStr(next(iter(keys.values())))
        secret = self.jwt_secret.get_secret_value()
        if self.env is Environment.DEVELOPMENT and not secret:
            self.jwt_secret = SecretStr(DEV_JWT_SECRET)
            return self
        if not secret:
            raise ValueError(
                "MOMETRICS_JWT_SECRET is missing: set it to a random string of "
                "at least 32 characters (for example `openssl rand -hex 32`)"
            )
        if self.env is Environment.PRODUCTION and (secret == DEV_JWT_SECRET or len(secret) < 32):
            raise ValueError(
                "MOMETRICS_JWT_SECRET is a placeholder or shorter than 32 "
                "characters; set a random secret outside development"
            )
        return self


def parse_jwt_keys(value: str) -> dict[str, str]:
    """Parse `kid:secret,kid:secret` into an ordered mapping; the first key signs."""
    keys: dict[str, str] = {}
    for entry in value.split(","):
        kid, sep, secret = entry.strip().partition(":")
        if not sep or not kid or not secret:
            raise ValueError("MOMETRICS_JWT_KEYS entries must look like kid:secret")
        if not kid.isalnum() or len(kid) > 32:
            raise ValueError(f"MOMETRICS_JWT_KEYS key id {kid!r} must be 1-32 letters or digits")
        if kid in keys:
            raise ValueError(f"MOMETRICS_JWT_KEYS lists the key id {kid!r} twice")
        keys[kid] = secret
    return keys


def to_asyncpg_url(url: str) -> str:
    """Return the URL with the asyncpg driver that SQLAlchemy needs."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def to_libpq_url(url: str) -> str:
    """Return the URL in the plain form that asyncpg.connect accepts."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def load_settings() -> Settings:
    """Read and validate the settings, raising ConfigError with a clear line."""
    try:
        return Settings()
    except ValidationError as err:
        problems = []
        for error in err.errors():
            field = ".".join(str(part) for part in error["loc"])
            name = f"MOMETRICS_{field.upper()}" if field else "configuration"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if field else message)
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


@functools.cache
def get_settings() -> Settings:
    return load_settings()
