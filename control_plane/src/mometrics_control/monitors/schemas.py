"""Monitor schemas and the input rules every write must pass."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mometrics_control.alerting.settings import AlertSettings

# push monitors have no target: a cron job pings their push URL instead.
Kind = Literal["http", "tcp", "dns", "tls", "grpc", "push"]
# The region of push monitors' results; no agent may register in it.
PUSH_REGION = "push"

# Stored quorum for "all": effective_quorum caps it at the region count.
QUORUM_ALL = 32
QUORUM_WORDS = {"majority": 0, "any": 1, "all": QUORUM_ALL}
# An int (0 means a majority) or one of QUORUM_WORDS; stored as an int.
Quorum = int | Literal["majority", "any", "all"]

MIN_INTERVAL_S = 10
MAX_INTERVAL_S = 86_400
MIN_TIMEOUT_S = 0.5
MAX_TIMEOUT_S = 60.0
REGION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$")


class JsonAssertion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=500)
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "contains", "exists"] = "eq"
    value: Any = None


class HttpOptions(BaseModel):
    """Options of an http monitor; the agent documents their exact meaning."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(default=None, max_length=65_536)
    basic_auth: dict[str, str] | None = None
    bearer_token: str | None = Field(default=None, max_length=4096)
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=0, le=30)
    # Codes and ranges such as [200, "300-399"]; empty means any 2xx.
    expected_status: list[int | str] = Field(default_factory=list)
    keyword: str | None = Field(default=None, max_length=1000)
    keyword_absent: bool = False
    keyword_case_sensitive: bool = True
    body_regex: str | None = Field(default=None, max_length=1000)
    json_assertions: list[JsonAssertion] = Field(default_factory=list, max_length=20)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=10_485_760)
    verify_tls: bool = True
    # PEM certificates to trust instead of the system store.
    ca_pem: str | None = Field(default=None, max_length=65_536)
    server_name: str | None = Field(default=None, max_length=253)
    cert_expiry_warning_days: int = Field(default=14, ge=0, le=365)
    ip_family: Literal["any", "ipv4", "ipv6"] = "any"

    @field_validator("expected_status")
    @classmethod
    def _check_status(cls, values: list[int | str]) -> list[int | str]:
        for value in values:
            low, _, high = str(value).partition("-")
            if not low.isdigit() or (high and not high.isdigit()):
                raise ValueError(f"{value!r} is not a status code or a range like 200-299")
            if not 100 <= int(low) <= int(high or low) <= 599:
                raise ValueError(f"{value!r} is outside 100-599")
        return values

    @field_validator("body_regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"invalid regular expression: {err}") from None
        return value


class MonitorBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    interval_seconds: int = Field(default=60, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S)
    timeout_seconds: float = Field(default=10.0, ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S)
    # Required for every kind but push, whose only region is "push".
    regions: list[str] = Field(default_factory=list, max_length=32)
    paused: bool = False
    tags: list[str] = Field(default_factory=list, max_length=32)
    options: dict[str, Any] = Field(default_factory=dict)
    channel_ids: list[uuid.UUID] = Field(default_factory=list, max_length=32)
    # Regions that must be down for the whole monitor to be down; 0 means a
    # majority of its regions.
    quorum: Quorum = 0
    alerting: AlertSettings = Field(default_factory=AlertSettings)
    # While the parent monitor is down, this monitor's incidents page nobody.
    parent_id: uuid.UUID | None = None

    @field_validator("quorum")
    @classmethod
    def _check_quorum(cls, value: Quorum) -> int:
        return _validate_quorum(value)

    @field_validator("regions")
    @classmethod
    def _check_regions(cls, values: list[str]) -> list[str]:
        return _validate_regions(values)

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, values: list[str]) -> list[str]:
        for value in values:
            if not 1 <= len(value) <= 64:
                raise ValueError("tags must be 1 to 64 characters")
        return values


class MonitorCreate(MonitorBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Home page",
                    "kind": "http",
                    "url": "https://example.org/health",
                    "interval_seconds": 60,
                    "timeout_seconds": 10,
                    "regions": ["eu-west", "us-east"],
                    "tags": ["web"],
                    "options": {"expected_status": [200], "keyword": "ok"},
                },
                {"name": "Nightly backup", "kind": "push", "interval_seconds": 86400},
            ]
        },
    )

    kind: Kind = "http"
    url: str | None = Field(default=None, max_length=2048)
    target: str | None = Field(default=None, max_length=2048)


class MonitorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=2048)
    target: str | None = Field(default=None, max_length=2048)
    interval_seconds: int | None = Field(default=None, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S)
    timeout_seconds: float | None = Field(default=None, ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S)
    regions: list[str] | None = Field(default=None, min_length=1, max_length=32)
    paused: bool | None = None
    tags: list[str] | None = None
    options: dict[str, Any] | None = None
    channel_ids: list[uuid.UUID] | None = None
    quorum: Quorum | None = None
    alerting: AlertSettings | None = None
    parent_id: uuid.UUID | None = None

    @field_validator("regions")
    @classmethod
    def _check_regions(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _validate_regions(values)

    @field_validator("quorum")
    @classmethod
    def _check_quorum(cls, value: Quorum | None) -> int | None:
        return None if value is None else _validate_quorum(value)


class MonitorRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: Kind
    url: str | None
    target: str | None
    interval_seconds: int
    timeout_seconds: float
    regions: list[str]
    paused: bool
    tags: list[str]
    options: dict[str, Any]
    channel_ids: list[uuid.UUID]
    # Stored form of the quorum: 0 is a majority, 32 is all regions.
    quorum: int
    alerting: AlertSettings
    parent_id: uuid.UUID | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class MonitorPage(BaseModel):
    items: list[MonitorRead]
    next_cursor: str | None = None


def _validate_quorum(value: Quorum) -> int:
    if isinstance(value, str):
        return QUORUM_WORDS[value]
    if not 0 <= value <= QUORUM_ALL:
        raise ValueError(f"must be 0 (majority) to {QUORUM_ALL}, or majority, any or all")
    return value


def _validate_regions(values: list[str]) -> list[str]:
    for value in values:
        if not re.match(REGION_PATTERN, value):
            raise ValueError(f"{value!r} is not a region name (lower-case letters, digits, -)")
    return sorted(set(values))


def validate_target(kind: str, url: str | None, target: str | None) -> str:
    """Return the stored target of a monitor, or raise ValueError naming the field."""
    if kind == "push":
        if url or target:
            raise ValueError("push monitors take no url or target; they are pinged instead")
        return ""
    if kind == "http":
        if not url:
            raise ValueError("url is required for http monitors")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http:// or https:// URL with a host")
        return url
    if not target:
        raise ValueError(f"target is required for {kind} monitors")
    if kind == "dns":
        if not _HOST_NAME.match(target):
            raise ValueError("target must be a host name to look up, such as example.org")
        return target
    match = _HOST_PORT.match(target)
    if not match or not 0 < int(match.group(2)) < 65_536:
        raise ValueError("target must be host:port, such as db.example.org:5432")
    return target
