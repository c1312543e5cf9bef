"""Full-text search for articles: FTS5 table + triggers on SQLite, a GIN expression index on PostgreSQL.
See cx/kb/search.py (the expression there must match the index)."""

from django.db import migrations


def create(apps, schema_editor):
    from cx.kb.search import PG_VECTOR, sqlite_index_install

    if schema_editor.connection.vendor == "sqlite":
        sqlite_index_install(schema_editor.connection)
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS kb_article_fts ON kb_article USING GIN ({PG_VECTOR})")


def drop(apps, schema_editor):
    from cx.kb.search import sqlite_index_remove

    if schema_editor.connection.vendor == "sqlite":
        sqlite_index_remove(schema_editor.connection)
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS kb_article_fts")


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
