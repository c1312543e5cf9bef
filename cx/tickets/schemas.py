"""API shapes for tickets, their messages and audit trail, statuses, custom fields and tags, and the agent
workspace's saved views, canned replies and bulk changes.

In-schemas refuse unknown fields (a misspelt field is a 422 naming it). Lengths, tags, custom-field values
and who may be assigned are checked by the services, so the API and the agent workspace give the same reasons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from cx.tickets.models import Channel, CustomFieldType, Priority, StatusCategory, TicketType, Visibility


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class _PageOut(Schema):
    next: str | None = Field(description="Pass as `cursor` for the following page; null on the last page.")


# --- Small pieces shared by the outputs ------------------------------------------------------------
class StatusBriefOut(Schema):
    id: int
    name: str
    category: str


class AgentBriefOut(Schema):
    id: int
    username: str
    display_name: str


class TeamBriefOut(Schema):
    id: int
    name: str


class CustomerBriefOut(Schema):
    id: int
    name: str = Field(description="Display name, else first and last name, else 'Customer <id>'.")


class OrganizationBriefOut(Schema):
    id: int
    name: str


# --- Tickets -----------------------------------------------------------------------------------------
class TicketSummaryOut(Schema):
    """A row of a ticket list."""

    id: int
    subject: str
    status: StatusBriefOut
    priority: str
    ticket_type: str
    channel: str
    requester: CustomerBriefOut
    assignee: AgentBriefOut | None
    team: TeamBriefOut | None
    tags: list[str]
    due_at: datetime | None
    sla_next_due_at: datetime | None = Field(description="The nearest running SLA target, if any.")
    sla_breached_at: datetime | None = Field(description="When the first SLA target was missed.")
    merged_into_id: int | None = Field(description="Set when this ticket was merged into another one.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [tag.name for tag in obj.tags.all()]


class TicketOut(TicketSummaryOut):
    """One ticket with everything its page shows."""

    organization: OrganizationBriefOut | None
    followers: list[AgentBriefOut]
    ccs: list[CustomerBriefOut]
    custom_fields: dict[str, Any]
    language: str
    first_response_at: datetime | None
    last_customer_message_at: datetime | None
    last_agent_reply_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_followers(obj: Any) -> list[Any]:
        return list(obj.followers.all())

    @staticmethod
    def resolve_ccs(obj: Any) -> list[Any]:
        return list(obj.ccs.all())


class TicketPageOut(_PageOut):
    results: list[TicketSummaryOut]


class TicketIn(_In):
    """An agent opens a ticket for a customer (a phone call, an outbound message)."""

    requester_id: int
    subject: str
    body: str = Field(description="The first message: a public reply to the customer or an internal note.")
    visibility: Visibility = Visibility.PUBLIC
    channel: Channel = Channel.AGENT
    priority: Priority = Priority.NORMAL
    ticket_type: TicketType = TicketType.QUESTION
    tags: list[str] = Field(default_factory=list)
    team_id: int | None = None
    assignee_id: int | None = Field(None, description="An active agent; a member of the team if one is given.")
    custom_fields: dict[str, Any] = Field(default_factory=dict, description="Values by custom field key.")


class TicketPatchIn(_In):
    """Only the fields sent are changed; `null` clears assignee_id, team_id and due_at."""

    subject: str = Field(None)
    status_id: int = Field(None, description="An active status (see /ticket-statuses).")
    priority: Priority = Field(None)
    ticket_type: TicketType = Field(None)
    assignee_id: int | None = None
    team_id: int | None = None
    tags: list[str] = Field(None, description="Replaces all tags.")
    custom_fields: dict[str, Any] = Field(None, description="Merged into the current values; `null` clears a key.")
    due_at: datetime | None = Field(None, description="With a time-zone offset, e.g. 2026-03-01T17:00:00Z.")
    follower_ids: list[int] = Field(None, description="Replaces all followers.")


class MergeIn(_In):
    source_id: int = Field(description="The ticket merged away; its conversation moves to this ticket.")


# --- Messages ----------------------------------------------------------------------------------------
class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    created_at: datetime


class MessageOut(Schema):
    id: int
    ticket_id: int
    visibility: str = Field(description="public (seen by the customer) or internal (a note for agents).")
    author_type: str = Field(description="agent, customer, system or bot.")
    author_agent: AgentBriefOut | None
    author_customer: CustomerBriefOut | None
    channel: str
    body_text: str
    body_html: str
    external_id: str
    delivery_status: str
    delivery_error: str
    attachments: list[AttachmentOut]
    created_at: datetime

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return list(obj.attachments.all())


class MessagePageOut(_PageOut):
    results: list[MessageOut]


class ReplyIn(_In):
    body: str
    visibility: Visibility = Visibility.PUBLIC
    status_id: int | None = Field(None, description="Also move the ticket to this status, e.g. Solved.")


# --- Audit trail -------------------------------------------------------------------------------------
class AuditEventOut(Schema):
    id: int
    actor: str = Field(description="The agent's username, or 'system'.")
    actor_id: int | None
    action: str
    data: dict[str, Any]
    at: datetime

    @staticmethod
    def resolve_actor(obj: Any) -> str:
        return obj.actor_label

    @staticmethod
    def resolve_at(obj: Any) -> datetime:
        return obj.created_at


class AuditPageOut(_PageOut):
    results: list[AuditEventOut]


# --- Statuses ----------------------------------------------------------------------------------------
class TicketStatusOut(Schema):
    id: int
    name: str
    category: str
    is_default: bool = Field(description="The status the system uses when it moves a ticket into this category.")
    position: int
    is_active: bool


class TicketStatusIn(_In):
    name: str
    category: StatusCategory
    position: int = 0
    is_default: bool = False


class TicketStatusPatchIn(_In):
    """Only the fields sent are changed. The category is fixed for life; it is here to say so."""

    name: str = Field(None)
    position: int = Field(None)
    is_active: bool = Field(None)
    is_default: bool = Field(None)
    category: StatusCategory = Field(None)


# --- Custom fields -----------------------------------------------------------------------------------
class CustomFieldOut(Schema):
    id: int
    key: str
    label: str
    field_type: str
    options: list[str]
    required_on_solve: bool
    is_active: bool
    position: int


class CustomFieldIn(_In):
    key: str = Field(description="Used in ticket `custom_fields`; lowercase letters, digits, - and _.")
    label: str
    field_type: CustomFieldType
    options: list[str] = Field(default_factory=list, description="The choices of a dropdown (required for one).")
    required_on_solve: bool = False
    is_active: bool = True
    position: int = 0


class CustomFieldPatchIn(_In):
    """Only the fields sent are changed. Key and type are fixed for life; they are here to say so."""

    label: str = Field(None)
    options: list[str] = Field(None)
    required_on_solve: bool = Field(None)
    is_active: bool = Field(None)
    position: int = Field(None)
    key: str = Field(None)
    field_type: CustomFieldType = Field(None)


# --- Tags --------------------------------------------------------------------------------------------
class TagOut(Schema):
    name: str
    ticket_count: int = Field(description="Tickets with this tag that you can see.")


# --- Saved views -------------------------------------------------------------------------------------
class SavedViewFiltersIn(_In):
    """The inbox filters a view keeps; the same keys and checks as the inbox page. Empty values are dropped."""

    queue: str | None = Field(None, description="my-open, unassigned, my-team, all, sla-at-risk, recently-solved "
                                                "or any (every visible ticket, the default).")
    status_category: str | None = Field(None, description="new, open, pending, on_hold, solved or closed.")
    priority: str | None = None
    assignee: str | int | None = Field(None, description="An agent id, `me` (whoever opens the view) or `none`.")
    team: str | int | None = Field(None, description="A team id or `none`.")
    tag: str | None = None
    channel: str | None = None


class SavedViewOut(Schema):
    id: int
    name: str
    owner: AgentBriefOut
    is_shared: bool = Field(description="Shown to every agent; only the owner (or an admin) changes it.")
    filters: dict[str, str]
    sort: str
    created_at: datetime
    updated_at: datetime


class SavedViewIn(_In):
    name: str
    filters: SavedViewFiltersIn = Field(default_factory=SavedViewFiltersIn)
    sort: str = Field("updated", description="updated (newest change first), created (newest first) or oldest.")
    is_shared: bool = Field(False, description="Sharing a view with every agent needs write access.")


class SavedViewPatchIn(_In):
    """Only the fields sent are changed; `filters` replaces all the view's filters."""

    name: str = Field(None)
    filters: SavedViewFiltersIn = Field(None)
    sort: str = Field(None)
    is_shared: bool = Field(None)


# --- Canned replies ----------------------------------------------------------------------------------
class CannedReplyOut(Schema):
    id: int
    title: str
    body: str = Field(description="The text with placeholders such as {{customer.first_name}}.")
    owner: AgentBriefOut
    is_shared: bool
    created_at: datetime
    updated_at: datetime


class CannedReplyIn(_In):
    title: str
    body: str = Field(description="Placeholders: {{customer.first_name}}, {{customer.name}}, {{ticket.id}}, "
                                  "{{ticket.subject}}, {{agent.first_name}}.")
    is_shared: bool = Field(True, description="Shared replies are offered to every agent; private ones to you.")


class CannedReplyPatchIn(_In):
    """Only the fields sent are changed."""

    title: str = Field(None)
    body: str = Field(None)
    is_shared: bool = Field(None)


class CannedReplyRenderOut(Schema):
    reply_id: int
    ticket_id: int
    text: str = Field(description="The reply with the ticket's and your values filled in, ready to send.")


# --- Bulk changes ------------------------------------------------------------------------------------
class BulkChangesIn(_In):
    """Exactly one change, applied to every ticket as if made on each ticket's page."""

    assignee_id: int | None = Field(None, description="An agent id; `null` unassigns.")
    team_id: int | None = Field(None, description="A team id; `null` removes the team.")
    status_id: int = Field(None)
    priority: Priority = Field(None)
    add_tag: str = Field(None, description="A tag added to each ticket's tags.")


class BulkIn(_In):
    ticket_ids: list[int] = Field(description="At most 100 tickets.")
    changes: BulkChangesIn


class BulkResultOut(Schema):
    ticket_id: int
    result: str = Field(description="updated, or error (the ticket was left unchanged).")
    reason: str | None = Field(description="Why the ticket was not changed (no such ticket, a rule refused it).")


class BulkOut(Schema):
    updated: int
    failed: int
    results: list[BulkResultOut] = Field(description="One per distinct ticket id, in the order sent.")
