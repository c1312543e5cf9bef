"""Knowledge-base search on the database's own full text, the same approach as ticket search
(cx/tickets/search.py): SQLite FTS5 kept in sync by triggers, PostgreSQL ``to_tsvector('simple', ...)`` with a
GIN expression index (migration 0002). Query words are matched as case-insensitive prefixes and OR-ed, so a
question in plain words ("how do i reset my password") still finds the article; ranking (BM25 on SQLite,
``ts_rank`` on PostgreSQL, titles weighted above bodies) puts the articles matching most words first.

``article_search`` in selectors.py is the one entry point; the semantic engine (cx.search) will be fused in
there without changing callers.
"""

from __future__ import annotations

import re
from string import Template

from django.db import connection

from cx.core.errors import ValidationFailed

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

FTS_TABLE = "kb_article_fts"
_TRIGGERS = (f"{FTS_TABLE}_ai", f"{FTS_TABLE}_ad", f"{FTS_TABLE}_au")
# Statements separated by blank lines; a Template so only the constant table name is substituted.
_SQLITE_SQL = Template("""
CREATE VIRTUAL TABLE IF NOT EXISTS $fts USING fts5(title, body_text, content='kb_article', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2')

CREATE TRIGGER IF NOT EXISTS ${fts}_ai AFTER INSERT ON kb_article BEGIN
    INSERT INTO $fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text);
END

CREATE TRIGGER IF NOT EXISTS ${fts}_ad AFTER DELETE ON kb_article BEGIN
    INSERT INTO $fts($fts, rowid, title, body_text) VALUES ('delete', old.id, old.title, old.body_text);
END

CREATE TRIGGER IF NOT EXISTS ${fts}_au AFTER UPDATE OF title, body_text ON kb_article BEGIN
    INSERT INTO $fts($fts, rowid, title, body_text) VALUES ('delete', old.id, old.title, old.body_text);
    INSERT INTO $fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text);
END
""")
_SQLITE_INSTALL = [part.strip() for part in _SQLITE_SQL.substitute(fts=FTS_TABLE).split("\n\n") if part.strip()]
# Must stay identical to the index expression of migration 0002 so PostgreSQL uses the index.
PG_VECTOR = ("(setweight(to_tsvector('simple'::regconfig, title), 'A') || "
             "setweight(to_tsvector('simple'::regconfig, body_text), 'B'))")


def sqlite_index_install(db_connection) -> None:
    if db_connection.vendor != "sqlite":
        return
    with db_connection.cursor() as cursor:
        for statement in _SQLITE_INSTALL:
            cursor.execute(statement)
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # noqa: S608


def sqlite_index_remove(db_connection) -> None:
    if db_connection.vendor != "sqlite":
        return
    with db_connection.cursor() as cursor:
        for name in _TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def _sqlite_index_ensure() -> None:
    """SQLite drops a table's triggers when a migration rebuilds the table; put them back if that happened."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s, %s)",
                       list(_TRIGGERS))
        (present,) = cursor.fetchone()
    if present != len(_TRIGGERS):
        sqlite_index_remove(connection)
        sqlite_index_install(connection)


def search_terms(query: str) -> list[str]:
    """The words of a query, lower-cased, punctuation dropped (so no user text reaches a query syntax)."""
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationFailed("The search is too long.", fields={"q": f"at most {MAX_QUERY_LENGTH} characters"})
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        word = word[:50]
        if word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def ranked_article_ids(*, terms: list[str], where: str, params: list, limit: int) -> list[tuple[int, float]]:
    """(article id, score) best first, for articles matching any term and the extra ``where`` condition on
    ``a`` (kb_article). ``where`` is built by the caller from constants; values travel in ``params``."""
    if not terms:
        return []
    if connection.vendor == "sqlite":
        _sqlite_index_ensure()
        match = " OR ".join(f'"{term}"*' for term in terms)
        sql = (f"SELECT a.id, bm25({FTS_TABLE}, 4.0, 1.0) AS score FROM {FTS_TABLE} "  # noqa: S608 - constants
               f"JOIN kb_article a ON a.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH %s AND {where} "
               "ORDER BY score, a.id LIMIT %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [match, *params, limit])
            return [(row[0], -float(row[1])) for row in cursor.fetchall()]
    tsquery = " | ".join(f"{term}:*" for term in terms)
    vector = PG_VECTOR.replace("title", "a.title").replace("body_text", "a.body_text")
    sql = (f"SELECT a.id, ts_rank({vector}, q) AS score FROM kb_article a, "  # noqa: S608 - constants
           f"to_tsquery('simple'::regconfig, %s) q WHERE {vector} @@ q AND {where} "
           "ORDER BY score DESC, a.id LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [tsquery, *params, limit])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def snippet(text: str, terms: list[str], *, width: int = 180) -> str:
    """A window of ``text`` around the first matching word (plain text; the template highlights nothing)."""
    lowered = text.lower()
    positions = [p for p in (lowered.find(term) for term in terms) if p >= 0]
    start = max(0, min(positions) - 40) if positions else 0
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = text[start:start + width]
    if start + width < len(text):
        cut = piece.rfind(" ")
        piece = (piece[:cut] if cut > width // 2 else piece) + "…"
    return ("…" if start else "") + piece
