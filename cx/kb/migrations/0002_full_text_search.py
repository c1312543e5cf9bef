"""Full-text search for articles: FTS5 table + triggers on SQLite; on PostgreSQL a stored generated tsvector
column (``search_vector``, unknown to the Django model) with a GIN index, so ranking reads the stored vector
instead of parsing every matching article again. See cx/kb/search.py."""

from django.db import migrations


def create(apps, schema_editor):
    from cx.kb.search import PG_VECTOR, sqlite_index_install

    if schema_editor.connection.vendor == "sqlite":
        sqlite_index_install(schema_editor.connection)
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE kb_article ADD COLUMN IF NOT EXISTS search_vector tsvector "
                              f"GENERATED ALWAYS AS ({PG_VECTOR}) STORED")
        schema_editor.execute("CREATE INDEX IF NOT EXISTS kb_article_fts ON kb_article USING GIN (search_vector)")


def drop(apps, schema_editor):
    from cx.kb.search import sqlite_index_remove

    if schema_editor.connection.vendor == "sqlite":
        sqlite_index_remove(schema_editor.connection)
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS kb_article_fts")
        schema_editor.execute("ALTER TABLE kb_article DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
