from __future__ import annotations

import uuid

from pydantic import BaseModel, EmailStr, Field


class RegisterRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=256)
    organization_name: str | None = Field(default=None, max_length=200)
    # The token of an invitation to `email`: the account joins that
    # organisation, and gets an organisation of its own only when
    # organization_name is also set.
    invitation_token: str | None = Field(default=None, min_length=1, max_length=200)


class UserRead(BaseModel):
    id: uuid.UUID
    email: str


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class MembershipRead(BaseModel):
    id: uuid.UUID
    name: str
    role: str


class MeRead(BaseModel):
    id: uuid.UUID
    email: str
    organizations: list[MembershipRead]


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(min_length=8, max_length=256)
