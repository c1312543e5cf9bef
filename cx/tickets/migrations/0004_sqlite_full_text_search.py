"""Full-text search index for SQLite (FTS5 tables kept in sync by triggers); PostgreSQL searches at query time.

See cx/tickets/search.py for why triggers. Nothing happens on other databases.
"""

from django.db import migrations


def install(apps, schema_editor):
    from cx.tickets.search import sqlite_index_install

    sqlite_index_install(schema_editor.connection)


def remove(apps, schema_editor):
    from cx.tickets.search import sqlite_index_remove

    sqlite_index_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_saved_views_canned_replies")]
    operations = [migrations.RunPython(install, remove)]
