"""API schemas for mailboxes, routing rules and received mail (the IMAP password is write-only)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema


class RoutingRuleOut(Schema):
    id: int
    position: int
    sender_domain: str
    keywords: list[str]
    team_id: int | None
    priority: str
    tags: list[str]
    is_active: bool


class RoutingRuleIn(Schema):
    position: int = 0
    sender_domain: str = ""
    keywords: list[str] = []
    team_id: int | None = None
    priority: str = ""
    tags: list[str] = []
    is_active: bool = True


class MailboxOut(Schema):
    id: int
    address: str
    brand_name: str
    team_id: int | None
    signature: str
    is_active: bool
    max_message_bytes: int
    max_attachment_bytes: int
    max_attachments: int
    sender_rate_limit: int
    auto_ack_enabled: bool
    auto_ack_body: str
    imap_enabled: bool
    imap_host: str
    imap_port: int
    imap_ssl: bool
    imap_username: str
    imap_password_set: bool
    imap_folder: str
    imap_processed_folder: str
    imap_last_error: str
    rules: list[RoutingRuleOut]

    @staticmethod
    def resolve_imap_password_set(obj) -> bool:
        return bool(obj.imap_password)

    @staticmethod
    def resolve_rules(obj) -> list:
        return list(obj.rules.all())


class InboundOut(Schema):
    id: int
    mailbox_id: int | None
    source: str
    size: int
    message_id: str
    from_address: str
    recipient: str
    subject: str
    status: str
    reason: str
    ticket_id: int | None
    received_at: datetime
