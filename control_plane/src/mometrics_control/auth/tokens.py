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

from mometrics_control.config import Settings, parse_jwt_keys
from mometrics_control.errors import Unauthenticated

_hasher = PasswordHasher()

# Accepted signing algorithms; "none" and anything unlisted are rejected.
_ALGORITHMS = ["HS256"]
# Key id of MOMETRICS_JWT_SECRET when MOMETRICS_JWT_KEYS is empty.
DEFAULT_KID = "k1"


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


def signing_keys(settings: Settings) -> dict[str, str]:
    """Return the verification keys by key id; the first one signs."""
    configured = settings.jwt_keys.get_secret_value()
    if configured:
        return parse_jwt_keys(configured)
    return {DEFAULT_KID: settings.jwt_secret.get_secret_value()}


def issue_access_token(settings: Settings, user_id: uuid.UUID) -> str:
    now = dt.datetime.now(dt.UTC)
    kid, key = next(iter(signing_keys(settings).items()))
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        # Fractional seconds, so a token issued right after a password change
        # is told apart from one issued earlier in the same second.
        "iat": round(now.timestamp(), 3),
        "nbf": now,
        "exp": now + dt.timedelta(seconds=settings.access_token_ttl_s),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})


def decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    """Return the claims of a valid token, or raise Unauthenticated.

    The key is picked by the token's `kid` header; a token without one or
    with an unknown key id is rejected.
    """
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise Unauthenticated("invalid access token") from None
    key = signing_keys(settings).get(kid) if isinstance(kid, str) else None
    if key is None:
        raise Unauthenticated("invalid access token: unknown signing key")
    try:
        return jwt.decode(
            token,
            key,
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
