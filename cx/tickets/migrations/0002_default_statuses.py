"""The six built-in statuses, one default per category; admins add their own later."""

from django.db import migrations

DEFAULTS = [
    ("New", "new", 10),
    ("Open", "open", 20),
    ("Pending", "pending", 30),
    ("On hold", "on_hold", 40),
    ("Solved", "solved", 50),
    ("Closed", "closed", 60),
]


def create_statuses(apps, schema_editor):
    TicketStatus = apps.get_model("tickets", "TicketStatus")
    for name, category, position in DEFAULTS:
        TicketStatus.objects.get_or_create(
            name=name, defaults={"category": category, "position": position, "is_default": True}
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create_statuses, migrations.RunPython.noop)]
