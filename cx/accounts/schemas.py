"""API shapes for agents, teams and API tokens. In-schemas refuse unknown fields so typos are not ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from cx.accounts.models import AccessLevel, Team, User


class TeamBriefOut(Schema):
    id: int
    name: str


class AgentOut(Schema):
    id: int
    username: str
    display_name: str
    first_name: str
    last_name: str
    email: str
    role: str
    status: str
    time_zone: str
    teams: list[TeamBriefOut]


class MeOut(AgentOut):
    access: str = Field(description="What the role allows: read, write or admin.")
    token_scope: str | None = Field(description="The scope of the token used for this request (null for a session).")
    effective_access: str = Field(description="The lower of access and token_scope: what this request may do.")

    @staticmethod
    def for_request(user: User, token_scope: AccessLevel | None) -> MeOut:
        effective = user.access_level if token_scope is None else min(user.access_level, token_scope)
        return MeOut(
            **AgentOut.from_orm(user).model_dump(),
            access=user.access_level.label,
            token_scope=AccessLevel(token_scope).label if token_scope is not None else None,
            effective_access=AccessLevel(effective).label,
        )


class TeamMemberOut(Schema):
    id: int
    username: str
    display_name: str
    is_lead: bool


class TeamOut(Schema):
    id: int
    name: str
    description: str
    created_at: datetime
    members: list[TeamMemberOut]

    @staticmethod
    def resolve_members(obj: Team) -> list[dict]:
        return [
            {"id": m.user_id, "username": m.user.username, "display_name": m.user.display_name, "is_lead": m.is_lead}
            for m in obj.memberships.all()
        ]


class TokenOut(Schema):
    """A token as its owner sees it later: never the secret or its hash."""

    id: int
    name: str
    prefix: str
    scope: Literal["read", "write", "admin"]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_label(cls, value: int | str) -> str:
        # The model stores the AccessLevel number; clients see its name.
        return AccessLevel(value).label if isinstance(value, int) else value


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret, shown only in this response. Store it now.")


class TokenIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scope: Literal["read", "write", "admin"] = Field(description="Can only lower what your role allows.")
