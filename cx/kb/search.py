"""Knowledge-base search on the database's own full text, the same approach as ticket search
(cx/tickets/search.py): SQLite FTS5 kept in sync by triggers; PostgreSQL ``to_tsvector('simple', ...)`` kept in a
stored generated column with a GIN index (migration 0002). Query words (stop words dropped) are matched as
case-insensitive prefixes; articles with every word rank first, then articles with any word, so a
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
# FTS5 ranks this many candidates before the status/locale filters (at least; 20 per wanted hit).
MIN_CANDIDATES = 200
CANDIDATES_PER_HIT = 20
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

FTS_TABLE = "kb_article_fts"
_TRIGGERS = (f"{FTS_TABLE}_ai", f"{FTS_TABLE}_ad", f"{FTS_TABLE}_au")
# Statements separated by blank lines; a Template so only the constant table name is substituted.
_SQLITE_SQL = Template("""
CREATE VIRTUAL TABLE IF NOT EXISTS $fts USING fts5(title, body_text, content='kb_article', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='2 3 4')

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
# The generated ``search_vector`` column of migration 0002 (PostgreSQL only).
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


# Words that carry no meaning in a help-center question ("how do I ..."); they match nearly every article,
# which costs time and blurs the ranking. Kept when a query has nothing else.
STOPWORDS = frozenset([
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does",
    "for", "from", "get", "got", "had", "has", "have", "how", "i", "i'm", "if", "in", "into", "is", "it", "its",
    "me", "my", "no", "not", "of", "on", "or", "our", "please", "should", "so", "that", "the", "their", "them",
    "then", "there", "these", "this", "to", "us", "was", "we", "what", "when", "where", "which", "who", "why",
    "will", "with", "would", "you", "your", "yours", "hi", "hello", "help", "want", "need", "know", "tell",
])


def search_terms(query: str) -> list[str]:
    """The words of a query, lower-cased, punctuation dropped (so no user text reaches a query syntax), without
    stop words unless the query has nothing else."""
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationFailed("The search is too long.", fields={"q": f"at most {MAX_QUERY_LENGTH} characters"})
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        word = word[:50]
        if word not in terms:
            terms.append(word)
    meaningful = [term for term in terms if term not in STOPWORDS and len(term) > 1]
    return (meaningful or terms)[:MAX_TERMS]


def _is_prefix(term: str, position: int, count: int) -> bool:
    """Prefix-match words of three letters or more, and the last word (it may be half typed)."""
    return len(term) >= 3 or position == count - 1


def ranked_article_ids(*, terms: list[str], where: str, params: list, limit: int) -> list[tuple[int, float]]:
    """(article id, score) best first, for the extra ``where`` condition on ``a`` (kb_article; built by the
    caller from constants, values in ``params``). Articles containing every word come first; when they are
    fewer than ``limit``, articles containing any word follow. Asking for all words first keeps the set to
    rank small (cheap) and matches what people expect of a multi-word search; long numbers (order ids) are
    left out of that first pass because articles rarely contain them."""
    if not terms:
        return []
    required = [term for term in terms if not (term.isdigit() and len(term) > 4)] or terms
    found: list[tuple[int, float]] = []
    if len(required) > 1:
        found = _ranked(terms=required, every=True, where=where, params=params, limit=limit)
        if len(found) >= limit:
            return found
    seen = {article_id for article_id, _ in found}
    extra = _ranked(terms=terms, every=False, where=where, params=params, limit=limit + len(found))
    return found + [(article_id, score) for article_id, score in extra if article_id not in seen][:limit - len(found)]


def _ranked(*, terms: list[str], every: bool, where: str, params: list, limit: int) -> list[tuple[int, float]]:
    if connection.vendor == "sqlite":
        _sqlite_index_ensure()
        match = (" AND " if every else " OR ").join(f'"{term}"' + ("*" if _is_prefix(term, i, len(terms)) else "")
                                                     for i, term in enumerate(terms))
        # Rank inside FTS5 first (it orders by rank without touching the article rows), then filter the best
        # candidates; only when filters leave too few does the slower ranked join over every match run.
        candidates = max(limit * CANDIDATES_PER_HIT, MIN_CANDIDATES)
        ranked = (f"SELECT rowid, rank FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "  # noqa: S608 - constants
                  "AND rank MATCH 'bm25(4.0, 1.0)' ORDER BY rank LIMIT %s")
        sql = (f"SELECT a.id, f.rank FROM ({ranked}) f JOIN kb_article a ON a.id = f.rowid "  # noqa: S608
               f"WHERE {where} ORDER BY f.rank, a.id LIMIT %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [match, candidates, *params, limit])
            rows = cursor.fetchall()
            if len(rows) < limit:
                cursor.execute(f"SELECT COUNT(*) FROM ({ranked})", [match, candidates])  # noqa: S608
                if cursor.fetchone()[0] == candidates:  # the filters dropped candidates: rank every match
                    cursor.execute(sql, [match, -1, *params, limit])
                    rows = cursor.fetchall()
        return [(row[0], -float(row[1])) for row in rows]
    tsquery = (" & " if every else " | ").join(term + (":*" if _is_prefix(term, i, len(terms)) else "")
                                               for i, term in enumerate(terms))
    sql = ("SELECT a.id, ts_rank(a.search_vector, q) AS score FROM kb_article a, "  # noqa: S608 - constants
           f"to_tsquery('simple'::regconfig, %s) q WHERE a.search_vector @@ q AND {where} "
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
