"""Full-text search over tickets: subjects, message bodies and the requester (names, identity values).

Every word of the query must match somewhere in the ticket (its subject, any of its messages, or its
requester), as a case-insensitive word prefix, so "refu card" finds "Refund for my card". The same query
gives the same tickets on both databases:

- PostgreSQL: ``to_tsvector('simple', ...)`` @@ ``to_tsquery('simple', 'word:*')`` (no stemming, so it
  behaves like the SQLite tokenizer), served by GIN expression indexes on subjects and message bodies
  (migration 0005).
- SQLite: two FTS5 external-content tables (``tickets_ticket_fts`` over subjects, ``tickets_message_fts`` over
  message bodies) kept in sync by SQLite triggers. Triggers rather than a ticket observer because several
  writes never pass through an observable ticket change — a customer's erasure rewrites subjects and bodies
  with bulk ``UPDATE``s, a split moves a message away from the original ticket — and stale text in a search
  index would keep erased words findable. The triggers see every write; the message's current ticket is
  read from ``tickets_message`` at query time, so merges and splits need no reindexing.

Customers are matched with the customers app's own search (icontains over names, organisation and
identity values), so a customer edited a second ago is found by the new name.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from string import Template

from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cx.accounts.models import User
from cx.core.errors import ValidationFailed
from cx.customers.selectors import customer_search
from cx.tickets.models import Channel, Message, StatusCategory, Ticket
from cx.tickets.selectors import visible_tickets

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# --- The SQLite index -----------------------------------------------------------------------------------

_FTS_TABLES = {
    # fts table: (content table, indexed column)
    "tickets_ticket_fts": ("tickets_ticket", "subject"),
    "tickets_message_fts": ("tickets_message", "body_text"),
}


# One FTS5 table per indexed column, with triggers that mirror every insert, delete and update of it
# (statements separated by blank lines).
_FTS_SQL = Template("""
CREATE VIRTUAL TABLE IF NOT EXISTS $fts USING fts5($column, content='$content', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2')

CREATE TRIGGER IF NOT EXISTS ${fts}_ai AFTER INSERT ON $content BEGIN
    INSERT INTO $fts(rowid, $column) VALUES (new.id, new.$column);
END

CREATE TRIGGER IF NOT EXISTS ${fts}_ad AFTER DELETE ON $content BEGIN
    INSERT INTO $fts($fts, rowid, $column) VALUES ('delete', old.id, old.$column);
END

CREATE TRIGGER IF NOT EXISTS ${fts}_au AFTER UPDATE OF $column ON $content BEGIN
    INSERT INTO $fts($fts, rowid, $column) VALUES ('delete', old.id, old.$column);
    INSERT INTO $fts(rowid, $column) VALUES (new.id, new.$column);
END
""")


def _fts_statements() -> list[str]:
    statements = []
    for fts, (content, column) in _FTS_TABLES.items():
        script = _FTS_SQL.substitute(fts=fts, content=content, column=column)
        statements += [part.strip() for part in script.split("\n\n") if part.strip()]
    return statements


_TRIGGER_NAMES = tuple(f"{fts}_{suffix}" for fts in _FTS_TABLES for suffix in ("ai", "ad", "au"))


def sqlite_index_install(db_connection) -> None:
    """Create the FTS5 tables and their triggers and (re)build them from the current rows. Idempotent."""
    if db_connection.vendor != "sqlite":
        return
    with db_connection.cursor() as cursor:
        for statement in _fts_statements():
            cursor.execute(statement)
        for fts in _FTS_TABLES:
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608 - constant names


def sqlite_index_remove(db_connection) -> None:
    if db_connection.vendor != "sqlite":
        return
    with db_connection.cursor() as cursor:
        for name in _TRIGGER_NAMES:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for fts in _FTS_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {fts}")


def _sqlite_index_ensure() -> None:
    """SQLite drops a table's triggers when a migration rebuilds the table; put them back if that happened."""
    with connection.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(_TRIGGER_NAMES))
        cursor.execute(f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({placeholders})",  # noqa: S608
                       list(_TRIGGER_NAMES))
        (present,) = cursor.fetchone()
    if present != len(_TRIGGER_NAMES):
        sqlite_index_remove(connection)
        sqlite_index_install(connection)


# --- Queries --------------------------------------------------------------------------------------------

def search_terms(query: str) -> list[str]:
    """The words of a query, lower-cased, punctuation dropped (so no user text reaches a query syntax)."""
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationFailed("The search is too long.", fields={"q": f"at most {MAX_QUERY_LENGTH} characters"})
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        if word not in terms:
            terms.append(word[:50])
    if len(terms) > MAX_TERMS:
        raise ValidationFailed("Too many words.", fields={"q": f"at most {MAX_TERMS} words"})
    return terms


def _term_match_sqlite(term: str) -> Q:
    match = f'"{term}"*'
    subject = RawSQL("SELECT rowid FROM tickets_ticket_fts WHERE tickets_ticket_fts MATCH %s", [match])
    messages = RawSQL(
        "SELECT m.ticket_id FROM tickets_message_fts f JOIN tickets_message m ON m.id = f.rowid "
        "WHERE tickets_message_fts MATCH %s", [match])
    return Q(pk__in=subject) | Q(pk__in=messages)


def _term_match_postgres(term: str) -> Q:
    # The expressions match the GIN indexes of migration 0005 exactly, so PostgreSQL can use them.
    wanted = SearchQuery(f"{term}:*", search_type="raw", config="simple")
    in_messages = Message.objects.filter(SearchVectorExact(SearchVector("body_text", config="simple"), wanted))
    in_subject = SearchVectorExact(SearchVector("subject", config="simple"), wanted)
    return Q(in_subject) | Q(Exists(in_messages.filter(ticket_id=OuterRef("pk"))))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def ticket_search(*, actor: User, query: str, status_category: str | None = None, channel: str | None = None,
                  created_from: date | None = None, created_to: date | None = None) -> QuerySet[Ticket]:
    """Tickets the actor may see matching every word of ``query`` and the filters (dates in the current
    time zone, both ends inclusive)."""
    errors: dict[str, str] = {}
    if status_category and status_category not in StatusCategory.values:
        errors["status_category"] = f"one of {', '.join(StatusCategory.values)}"
    if channel and channel not in Channel.values:
        errors["channel"] = f"one of {', '.join(Channel.values)}"
    if created_from and created_to and created_from > created_to:
        errors["created_to"] = "must not be before the start date"
    if errors:
        raise ValidationFailed("Some search filters are invalid.", fields=errors)
    terms = search_terms(query)
    if not terms:
        raise ValidationFailed("Type a word to search for.", fields={"q": "at least one letter or digit"})
    qs = visible_tickets(actor=actor)
    if connection.vendor == "sqlite":
        _sqlite_index_ensure()
    for term in terms:
        match = _term_match_sqlite(term) if connection.vendor == "sqlite" else _term_match_postgres(term)
        customers = customer_search(actor=actor, query=term, include_inactive=True).order_by().values("pk")
        match |= Q(requester_id__in=customers)
        if term.isdigit() and len(term) < 12:
            match |= Q(pk=int(term))
        qs = qs.filter(match)
    if status_category:
        qs = qs.filter(status_category=status_category)
    if channel:
        qs = qs.filter(channel=channel)
    if created_from:
        qs = qs.filter(created_at__gte=_day_start(created_from))
    if created_to:
        qs = qs.filter(created_at__lt=_day_start(created_to + timedelta(days=1)))
    return qs
