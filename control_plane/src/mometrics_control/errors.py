"""The control plane's error hierarchy.

    MometricsError             500, a bug or an unexpected state
    ├── InvalidInput           422, a field failed validation
    ├── Unauthenticated        401, missing, expired or invalid credentials
    ├── Forbidden              403, the caller's role may not do this
    ├── NotFound               404, absent, or owned by another organisation
    ├── Conflict               409, clashes with existing data
    ├── Gone                   410, was valid once: expired, revoked or used
    └── RateLimited            429, too many attempts; retry later

Services raise these; one handler in the API turns them into RFC 9457
problem details, so no service imports the web framework.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class FieldError:
    """One invalid field: its dotted path and the reason."""

    field: str
    message: str


class MometricsError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(MometricsError):
    status = 422
    title = "Invalid input"

    @classmethod
    def for_field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [FieldError(field, message)])


class Unauthenticated(MometricsError):
    status = 401
    title = "Not authenticated"


class Forbidden(MometricsError):
    status = 403
    title = "Forbidden"


class NotFound(MometricsError):
    status = 404
    title = "Not found"


class Conflict(MometricsError):
    status = 409
    title = "Conflict"


class Gone(MometricsError):
    status = 410
    title = "Gone"


class RateLimited(MometricsError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
