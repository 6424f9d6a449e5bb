"""Password hashing, JWT access tokens and opaque secret tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mometrics_control.config import Settings
from mometrics_control.errors import Unauthenticated

_hasher = PasswordHasher()

# Accepted signing algorithms; "none" and anything unlisted are rejected.
_ALGORITHMS = ["HS256"]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_secret(secret: str) -> str:
    """Hash a high-entropy token for storage; SHA-256 suffices for random input."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def issue_access_token(settings: Settings, user_id: uuid.UUID) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + dt.timedelta(seconds=settings.access_token_ttl_s),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm="HS256", headers={"kid": "k1"}
    )


def decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    """Return the claims of a valid token, or raise Unauthenticated."""
    try:
        return jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("access token expired; refresh it") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("invalid access token") from None
