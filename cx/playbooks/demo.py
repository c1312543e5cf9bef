"""Demo playbooks for `cxdesk demo` (idempotent): one per trigger style, so `make run` shows the feature."""

from __future__ import annotations

from cx.accounts.models import AccessLevel, Team, User

from .models import Playbook
from .services import playbook_create

DEMO_PLAYBOOKS = [
    {"name": "Checkout rescue", "description": "Two failed checkouts in a day: an agent calls, the customer gets "
                                               "an offer of help by email.",
     "trigger_kind": "event", "trigger_event": "checkout_failed",
     "conditions": [{"field": "event_count", "event": "checkout_failed", "window_hours": 24, "op": ">=",
                     "value": 2}],
     "actions": [{"type": "create_ticket", "subject": "Checkout trouble: {{customer.name}}",
                  "body": "{{customer.first_name}} failed to check out twice today. Call them to help finish the "
                          "order.", "assign_to": "owner"},
                 {"type": "send_email", "subject": "Can we help with your order?",
                  "body": "Hi {{customer.first_name|there}},\n\nWe noticed your checkout did not go through. Reply "
                          "to this email and we will sort it out.\n\nThe support team"}],
     "holdout_percent": 10, "goal_kind": "event", "goal_event": "Order Completed", "goal_window_days": 14},
    {"name": "Save at-risk customers", "description": "High churn risk and an unsolved ticket: a retention call.",
     "trigger_kind": "sweep", "trigger_event": "",
     "conditions": [{"field": "churn_risk", "op": ">", "value": 0.7},
                    {"field": "open_tickets", "op": ">=", "value": 1}],
     "actions": [{"type": "tag_customer", "tags": ["at-risk"]},
                 {"type": "create_ticket", "subject": "Retention call: {{customer.name}}",
                  "body": "High churn risk with an open ticket: call before they leave.", "priority": "high",
                  "assign_to": "last_agent"}],
     "cooldown_days": 30, "holdout_percent": 20, "goal_kind": "not_churned", "goal_event": "",
     "goal_window_days": 60},
]


def playbooks_demo_seed(*, agents: list[User]) -> int:
    """Create the demo playbooks that do not exist yet; returns how many were created."""
    admin = next((a for a in agents if a.access_level >= AccessLevel.ADMIN), None)
    if admin is None:
        return 0
    owner = next((a for a in agents if a.access_level < AccessLevel.ADMIN), admin)
    created = 0
    for values in DEMO_PLAYBOOKS:
        if Playbook.objects.filter(name=values["name"]).exists():
            continue
        playbook_create(actor=admin, values={**values, "owner_id": owner.pk})
        created += 1
    team = Team.objects.order_by("pk").first()
    if team is not None and not Playbook.objects.filter(name="Detractor alert").exists():
        playbook_create(actor=admin, values={
            "name": "Detractor alert", "description": "An NPS detractor: the team hears about it at once.",
            "trigger_kind": "survey", "trigger_event": "nps",
            "conditions": [{"field": "nps_score", "op": "<=", "value": 6}],
            "actions": [{"type": "notify_team", "team_id": team.pk,
                         "message": "{{customer.name}} answered NPS as a detractor: call them today."}],
            "holdout_percent": 0, "goal_kind": "not_churned", "goal_event": "", "goal_window_days": 90})
        created += 1
    return created
