from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from mometrics_control.orgs.schemas import Role

Delivery = Literal["email", "link"]


class InvitationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "new.colleague@example.org", "role": "member"}]},
    )

    email: EmailStr
    role: Role = "member"


class InvitationRead(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    # Lower-cased.
    email: str
    role: Role
    invited_by: uuid.UUID | None
    created_at: dt.datetime
    expires_at: dt.datetime
    # "email": the control plane mails the accept link. "link": no mail is
    # sent, and the admin passes on the accept_url returned at creation.
    delivery: Delivery
    email_sent_at: dt.datetime | None
    # The last failure to send the invitation email, if any.
    email_error: str | None


class InvitationCreated(InvitationRead):
    # The accept link with the token, shown only in this response and only
    # when delivery is "link". The database stores only the token's hash.
    accept_url: str | None


class InvitationPage(BaseModel):
    items: list[InvitationRead]
    next_cursor: str | None = None


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The token from the accept link.
    token: str = Field(min_length=1, max_length=200)
