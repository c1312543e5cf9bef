"""Playbook actions: checked when a playbook is saved (naming the failing path), applied through the owning
apps' services — an outreach ticket (cx.tickets), a templated email / SMS / WhatsApp (a ticket on that channel
whose public message the mail or messaging app sends after commit), a chat invitation in the widget
(cx.chat's proactive message), a survey (cx.surveys), a team notification (cx.notifications) and a customer
tag. Text uses the automations' placeholder renderer (customer placeholders only: there is no ticket)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from cx.accounts.models import Team, User
from cx.accounts.selectors import active_agent_get
from cx.automation.placeholders import PLACEHOLDERS, render_placeholders, unknown_placeholders
from cx.chat.models import ChatVisitor
from cx.chat.services import chat_proactive_send
from cx.core.errors import ValidationFailed
from cx.customers.models import Customer, IdentityKind
from cx.messaging.models import PROVIDER_CHANNEL, Connector, Conversation, Provider
from cx.messaging.selectors import window_closes_at
from cx.messaging.services import whatsapp_template_send
from cx.notifications.models import NotificationKind
from cx.notifications.services import notify_agent
from cx.surveys.models import Survey, SurveyStatus
from cx.surveys.services import survey_invitation_create
from cx.tickets.models import Channel, Priority, Ticket, Visibility
from cx.tickets.services import ticket_create_by_agent

from .conditions import normal_tag
from .models import CustomerTag, Playbook

MAX_ACTIONS = 10
MAX_TEMPLATE = 10_000
CUSTOMER_PLACEHOLDERS = [name for name in PLACEHOLDERS if name.startswith("customer.")]
ASSIGN_TO = ("owner", "last_agent", "none")
ONLINE_WITHIN = timedelta(minutes=15)
SURVEY_CHANNELS = ("email", "sms", "whatsapp")

# type -> (required keys, optional keys, what it does)
ACTION_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "create_ticket": (("subject", "body"), ("assign_to", "team_id", "priority"),
                      "Open an outreach ticket for the customer with an internal note for the owner/team; "
                      'assign_to is "owner" (the playbook owner), "last_agent" (who handled the customer\'s latest '
                      'ticket) or "none"'),
    "send_email": (("subject", "body"), (), "Email the customer (a ticket on the email channel; replies thread)"),
    "send_sms": (("body",), (), "Text the customer by SMS (needs an SMS conversation with them)"),
    "send_whatsapp": (("body",), ("template",),
                      "Message the customer on WhatsApp: the body inside WhatsApp's 24-hour window, else the "
                      "connector's approved template named by template"),
    "chat_invitation": (("message",), (), "Show a proactive chat message in the widget while the customer is on "
                                          "the site"),
    "send_survey": (("survey_id",), ("channel",), "Invite the customer to an active survey (email by default)"),
    "notify_team": (("team_id", "message"), (), "Notify every member of a team (in the app and by email)"),
    "tag_customer": (("tags",), (), "Tag the customer (tags can be used in conditions)"),
}
TEMPLATE_KEYS = {"subject": 200, "body": MAX_TEMPLATE, "message": 2000}


def _template_problem(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "required: non-empty text (the template is missing)"
    if len(value) > limit:
        return f"at most {limit} characters"
    unknown = unknown_placeholders(value)
    if unknown:
        return f"unknown placeholder {{{{{unknown[0]}}}}}"
    other = [name for name in _used_placeholders(value) if name not in CUSTOMER_PLACEHOLDERS]
    if other:
        return f"{{{{{other[0]}}}}} is not available in playbooks (use {', '.join(CUSTOMER_PLACEHOLDERS)})"
    return None


def _used_placeholders(text: str) -> list[str]:
    from cx.automation.placeholders import _PATTERN

    return [m.group(1) for m in _PATTERN.finditer(text)]


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _action_problems(action: dict[str, Any], path: str) -> dict[str, str]:
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        return {f"{path}.type": f"unknown action {kind!r}; one of {', '.join(ACTION_TYPES)}" if kind else "required"}
    required, optional, _ = ACTION_TYPES[kind]
    extra = sorted(set(action) - {"type", *required, *optional})
    if extra:
        return {f"{path}.{extra[0]}": f"unknown key for {kind} (use {', '.join(required + optional)})"}
    for key in required:
        if key not in action:
            return {f"{path}.{key}": "required" + (" (the template is missing)" if key in TEMPLATE_KEYS else "")}
    for key, limit in TEMPLATE_KEYS.items():
        if key in action:
            problem = _template_problem(action[key], limit)
            if problem:
                return {f"{path}.{key}": problem}
    if kind == "create_ticket":
        if action.get("assign_to", "owner") not in ASSIGN_TO:
            return {f"{path}.assign_to": f"one of {', '.join(ASSIGN_TO)}"}
        if action.get("priority", Priority.NORMAL) not in Priority.values:
            return {f"{path}.priority": f"one of {', '.join(Priority.values)}"}
        team_id = action.get("team_id")
        if team_id is not None and (not _is_id(team_id) or not Team.objects.filter(pk=team_id).exists()):
            return {f"{path}.team_id": "no such team"}
    if kind == "notify_team" and (not _is_id(action["team_id"])
                                  or not Team.objects.filter(pk=action["team_id"]).exists()):
        return {f"{path}.team_id": "no such team"}
    if kind == "send_survey":
        survey_id = action["survey_id"]
        if not _is_id(survey_id) or not Survey.objects.filter(pk=survey_id, status=SurveyStatus.ACTIVE).exists():
            return {f"{path}.survey_id": "no such active survey"}
        if action.get("channel", "email") not in SURVEY_CHANNELS:
            return {f"{path}.channel": f"one of {', '.join(SURVEY_CHANNELS)}"}
    if kind == "send_whatsapp" and "template" in action:
        name = action["template"]
        known = {t.get("name") for c in Connector.objects.filter(provider=Provider.WHATSAPP)
                 for t in c.templates or []}
        if not isinstance(name, str) or name not in known:
            return {f"{path}.template": "not an approved template of any WhatsApp connector"}
    if kind == "tag_customer":
        tags = action["tags"]
        if not isinstance(tags, list) or not 1 <= len(tags) <= 10 or not all(
                isinstance(t, str) and 0 < len(normal_tag(t)) <= 50 for t in tags):
            return {f"{path}.tags": "a list of 1 to 10 tags of at most 50 characters"}
    return {}


def actions_validate(raw: Any, *, path: str = "actions") -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("A playbook needs at least one action.", fields={path: "a non-empty list of actions"})
    if len(raw) > MAX_ACTIONS:
        raise ValidationFailed("Too many actions.", fields={path: f"at most {MAX_ACTIONS} actions"})
    errors: dict[str, str] = {}
    cleaned = []
    for index, action in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(action, dict):
            errors[item_path] = 'an object like {"type": "tag_customer", "tags": ["at-risk"]}'
            continue
        problems = _action_problems(action, item_path)
        errors.update(problems)
        if not problems:
            action = dict(action)
            if action["type"] == "tag_customer":
                action["tags"] = list(dict.fromkeys(normal_tag(t) for t in action["tags"]))
            cleaned.append(action)
    if errors:
        raise ValidationFailed("Some actions are invalid.", fields=errors)
    return cleaned


# --- Applying ---------------------------------------------------------------------------------------------


@dataclass
class ActionResult:
    type: str
    ok: bool
    detail: str
    ticket_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "ok": self.ok, "detail": self.detail}
        if self.ticket_id is not None:
            data["ticket_id"] = self.ticket_id
        return data


class ActionSkipped(Exception):
    """The action cannot reach this customer (no address, not online...): recorded as a failure with a reason."""


def customer_email(customer: Customer) -> str:
    identity = customer.identities.filter(kind=IdentityKind.EMAIL).order_by("-is_primary", "pk").first()
    return identity.value if identity else ""


def placeholder_values(customer: Customer) -> dict[str, Any]:
    return {
        "customer.first_name": customer.first_name or customer.name,
        "customer.last_name": customer.last_name,
        "customer.name": customer.name,
        "customer.email": customer_email(customer),
        "customer.organization": customer.organization.name if customer.organization else "",
    }


def _assignee(action: dict[str, Any], playbook: Playbook, customer: Customer) -> int | None:
    wanted = action.get("assign_to", "owner")
    if wanted == "owner" and playbook.owner_id and active_agent_get(user_id=playbook.owner_id):
        return playbook.owner_id
    if wanted == "last_agent":
        last = (Ticket.objects.filter(requester_id=customer.pk, assignee__isnull=False)
                .order_by("-updated_at").values_list("assignee_id", flat=True).first())
        if last and active_agent_get(user_id=last):
            return last
    return None


def _message_ticket(*, actor: User, customer: Customer, channel: str, subject: str, body: str,
                    playbook: Playbook) -> Ticket:
    return ticket_create_by_agent(actor=actor, requester=customer, subject=subject, body=body,
                                  visibility=Visibility.PUBLIC, channel=channel,
                                  tags=["playbook", f"playbook-{playbook.pk}"]).ticket


def action_apply(*, actor: User, playbook: Playbook, customer: Customer, action: dict[str, Any],
                 values: dict[str, Any]) -> ActionResult:
    """Apply one action; DomainError / ActionSkipped propagate to the caller, which records the failure."""
    kind = action["type"]

    def text(key: str) -> str:
        return render_placeholders(action[key], values).strip()

    if kind == "create_ticket":
        team_id = action.get("team_id")
        assignee_id = _assignee(action, playbook, customer)
        if assignee_id and team_id and not Team.objects.filter(pk=team_id, memberships__user_id=assignee_id).exists():
            assignee_id = None  # the team picks it up
        ticket = ticket_create_by_agent(
            actor=actor, requester=customer, subject=text("subject") or playbook.name,
            body=f"{text('body')}\n\n(Opened by playbook \"{playbook.name}\".)", visibility=Visibility.INTERNAL,
            channel=Channel.AGENT, priority=action.get("priority", Priority.NORMAL), team_id=team_id,
            assignee_id=assignee_id, tags=["playbook", "outreach", f"playbook-{playbook.pk}"]).ticket
        return ActionResult(kind, True, f"outreach ticket #{ticket.pk}", ticket.pk)
    if kind == "send_email":
        address = values.get("customer.email")
        if not address:
            raise ActionSkipped("the customer has no email address")
        ticket = _message_ticket(actor=actor, customer=customer, channel=Channel.EMAIL, subject=text("subject"),
                                 body=text("body"), playbook=playbook)
        return ActionResult(kind, True, f"email to {address} (ticket #{ticket.pk})", ticket.pk)
    if kind in ("send_sms", "send_whatsapp"):
        channel = "sms" if kind == "send_sms" else "whatsapp"
        providers = [p for p, c in PROVIDER_CHANNEL.items() if c == channel]
        conversation = (Conversation.objects.filter(customer_id=customer.pk, connector__provider__in=providers)
                        .order_by("-last_inbound_at").first())
        if conversation is None:
            raise ActionSkipped(f"no {channel.upper() if channel == 'sms' else 'WhatsApp'} conversation with this "
                                f"customer")
        closes = window_closes_at(conversation) if channel == "whatsapp" else None
        if channel == "whatsapp" and (closes is None or closes < timezone.now()):
            if not action.get("template"):
                raise ActionSkipped("outside WhatsApp's 24-hour window and the action names no approved template")
            ticket = ticket_create_by_agent(
                actor=actor, requester=customer, subject=playbook.name, channel=channel,
                body=f"{text('body')}\n\n(Outside WhatsApp's 24-hour window: the template "
                     f"{action['template']} was sent instead.)", visibility=Visibility.INTERNAL,
                tags=["playbook", f"playbook-{playbook.pk}"]).ticket
            whatsapp_template_send(actor=actor, ticket=ticket, template_name=action["template"])
            return ActionResult(kind, True, f"WhatsApp template {action['template']} queued (ticket #{ticket.pk})",
                                ticket.pk)
        ticket = _message_ticket(actor=actor, customer=customer, channel=channel,
                                 subject=f"{playbook.name}", body=text("body"), playbook=playbook)
        return ActionResult(kind, True, f"{channel} message queued (ticket #{ticket.pk})", ticket.pk)
    if kind == "chat_invitation":
        visitors = list(ChatVisitor.objects.filter(customer_id=customer.pk,
                                                   last_seen_at__gte=timezone.now() - ONLINE_WITHIN))
        if not visitors:
            raise ActionSkipped("the customer is not on the site (no widget seen in the last 15 minutes)")
        for visitor in visitors:
            chat_proactive_send(actor=actor, visitor=visitor, body=text("message"))
        return ActionResult(kind, True, f"chat invitation shown to {len(visitors)} widget(s)")
    if kind == "send_survey":
        survey = Survey.objects.get(pk=action["survey_id"])
        invitation = survey_invitation_create(survey=survey, customer=customer, channel=action.get("channel", "email"),
                                              source="manual", source_key=values["_run_key"][:120])
        return ActionResult(kind, invitation.status != "suppressed",
                            f"survey invitation {invitation.status}"
                            + (f": {invitation.status_reason}" if invitation.status_reason else ""))
    if kind == "notify_team":
        team = Team.objects.prefetch_related("memberships__user").get(pk=action["team_id"])
        url = reverse("customers:detail", args=[customer.pk])
        told = [m.user.pk for m in team.memberships.all()
                if notify_agent(recipient=m.user, kind=NotificationKind.AUTOMATION,
                                title=f"{playbook.name}: {customer.name}", body=text("message"), url=url)]
        return ActionResult(kind, True, f"notified {len(told)} member(s) of {team.name}")
    if kind == "tag_customer":
        added = []
        for tag in action["tags"]:
            _, created = CustomerTag.objects.get_or_create(customer_id=customer.pk, name=tag,
                                                           defaults={"playbook": playbook})
            if created:
                added.append(tag)
        return ActionResult(kind, True, f"tagged {', '.join(action['tags'])}")
    raise ValueError(kind)
