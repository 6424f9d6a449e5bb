from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

# owner: everything, deleting the organisation included; admin: members,
# channels, agents, API keys and the status page; member: monitors and
# incidents; viewer: reads only.
Role = Literal["owner", "admin", "member", "viewer"]


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Acme"}]})

    name: str = Field(min_length=1, max_length=200)


class OrganizationUpdate(OrganizationCreate):
    pass


class OrganizationRead(BaseModel):
    id: uuid.UUID
    name: str
    # The caller's role in this organisation.
    role: Role
    created_at: dt.datetime


class OrganizationPage(BaseModel):
    items: list[OrganizationRead]
    next_cursor: str | None = None


class MemberCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ops@example.org", "role": "member"}]},
    )

    email: EmailStr
    role: Role = "member"


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    role: Role
    joined_at: dt.datetime


class MemberPage(BaseModel):
    items: list[MemberRead]
    next_cursor: str | None = None
