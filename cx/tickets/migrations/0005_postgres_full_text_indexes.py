"""GIN indexes for PostgreSQL full-text search on subjects and message bodies (see cx/tickets/search.py).

The indexed expressions are exactly what ``SearchVector(<column>, config="simple")`` generates, so the planner
uses them. Nothing happens on SQLite, which has its FTS5 tables (migration 0004).
"""

from django.db import migrations

INDEXES = {
    "tickets_ticket_subject_fts": ("tickets_ticket", "subject"),
    "tickets_message_body_fts": ("tickets_message", "body_text"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING GIN (to_tsvector('simple'::regconfig, COALESCE({column}, '')))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_sqlite_full_text_search")]
    operations = [migrations.RunPython(create, drop)]
