"""The two time rules every help desk starts with (as Zendesk ships them), active from the start:
solved tickets close after 4 days, and the assignee is reminded of tickets pending for 3 days."""

from django.db import migrations

DEFAULTS = [
    {
        "name": "Close solved tickets after 4 days",
        "description": "A solved ticket the customer has not answered for 4 days is closed; a later reply "
                       "from the customer then opens a follow-up ticket.",
        "position": 10,
        "conditions": {"all": [{"field": "status_category", "op": "is", "value": "solved"},
                               {"field": "hours_since_solved", "op": "gte", "value": 96}], "any": []},
        "actions": [{"type": "set_status", "category": "closed"}],
    },
    {
        "name": "Remind pending tickets after 3 days",
        "description": "Tell the assignee when a ticket has waited for the customer for 3 days.",
        "position": 20,
        "conditions": {"all": [{"field": "status_category", "op": "is", "value": "pending"},
                               {"field": "hours_in_status", "op": "gte", "value": 72}], "any": []},
        "actions": [{"type": "notify", "recipients": ["assignee"],
                     "message": "Ticket #{{ticket.id}} ({{ticket.subject}}) has been pending for 3 days: "
                                "follow up with {{customer.name}} or solve it."}],
    },
]


def create_defaults(apps, schema_editor):
    TimeRule = apps.get_model("automation", "TimeRule")
    for rule in DEFAULTS:
        if not TimeRule.objects.filter(name=rule["name"]).exists():
            TimeRule.objects.create(is_active=True, **rule)


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
