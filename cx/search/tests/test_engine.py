"""The hybrid search engine through its public API (services + selectors), on the real database and index."""

from __future__ import annotations

import pytest

from cx.core.errors import ValidationFailed
from cx.search.engine import CollectionIndex, forget_indexes, make_snippet
from cx.search.selectors import search_collection_stats, search_hybrid
from cx.search.services import DocumentIn, search_document_delete, search_document_upsert, search_documents_upsert

ARTICLES = [
    ("reset-password", "How to reset your password",
     "Open the sign-in page and choose 'Forgot password'. We email you a link to set a new password.",
     {"locale": "en", "visibility": "public"}),
    ("refund-policy", "Refund policy",
     "You can ask for a refund within 30 days of purchase. Refunds go back to the original payment method.",
     {"locale": "en", "visibility": "public"}),
    ("track-order", "Where is my order?",
     "Track your parcel from the Orders page. Delivery usually takes three to five working days.",
     {"locale": "en", "visibility": "public"}),
    ("refund-internal", "Refund approvals (agents)",
     "Agents may approve refunds up to 200 EUR without a team lead.",
     {"locale": "en", "visibility": "internal"}),
    ("reset-password-de", "Passwort zurücksetzen",
     "Öffnen Sie die Anmeldeseite und wählen Sie 'Passwort vergessen'.",
     {"locale": "de", "visibility": "public"}),
]


@pytest.fixture
def kb(db):
    for doc_id, title, text, filters in ARTICLES:
        search_document_upsert(collection="kb", doc_id=doc_id, title=title, text=text, filters=filters)


def ids(hits):
    return [hit.doc_id for hit in hits]


def test_search_finds_the_matching_article_first_with_a_snippet(kb):
    hits = search_hybrid(collection="kb", query="I forgot my password", limit=3)
    assert hits[0].doc_id == "reset-password"
    assert hits[0].title == "How to reset your password"
    assert "password" in hits[0].snippet.lower()
    assert hits[0].score > 0 and -1 <= hits[0].similarity <= 1


def test_semantic_half_finds_articles_without_shared_words(kb):
    hits = search_hybrid(collection="kb", query="money back", limit=2, filters={"visibility": "public"})
    assert "refund-policy" in ids(hits)


def test_filters_exclude_documents_that_do_not_match(kb):
    public = ids(search_hybrid(collection="kb", query="refund", limit=10, filters={"visibility": "public"}))
    assert "refund-policy" in public and "refund-internal" not in public
    internal = ids(search_hybrid(collection="kb", query="refund", limit=10, filters={"visibility": "internal"}))
    assert internal == ["refund-internal"]
    german = ids(search_hybrid(collection="kb", query="password", limit=10, filters={"locale": "de"}))
    assert german == ["reset-password-de"]
    assert search_hybrid(collection="kb", query="refund", filters={"locale": "fr"}) == []


def test_upsert_replaces_the_document_in_the_index(kb):
    search_document_upsert(collection="kb", doc_id="track-order", title="Shipping times",
                           text="Parcels to islands travel by ferry and take ten days.",
                           filters={"locale": "en", "visibility": "public"})
    hits = search_hybrid(collection="kb", query="ferry islands", limit=1)
    assert ids(hits) == ["track-order"] and hits[0].title == "Shipping times"
    # The old text is gone from the lexical index: BM25 no longer finds the document by its old words.
    old_words = search_hybrid(collection="kb", query="Orders working usually", limit=10)
    assert all(hit.lexical_rank is None for hit in old_words if hit.doc_id == "track-order")


def test_changing_filters_moves_the_document_between_filtered_views(kb):
    search_document_upsert(collection="kb", doc_id="refund-policy", title="Refund policy",
                           text="Refunds within 30 days.", filters={"locale": "en", "visibility": "internal"})
    public = ids(search_hybrid(collection="kb", query="refund", limit=10, filters={"visibility": "public"}))
    assert "refund-policy" not in public


def test_deleted_documents_disappear_from_both_halves(kb):
    assert search_document_delete(collection="kb", doc_id="refund-policy") is True
    assert "refund-policy" not in ids(search_hybrid(collection="kb", query="refund within 30 days", limit=10))
    assert search_document_delete(collection="kb", doc_id="refund-policy") is False
    assert search_document_delete(collection="nothing-here", doc_id="x") is False
    search_document_upsert(collection="kb", doc_id="refund-policy", title="Refunds", text="Refunds are back.")
    assert ids(search_hybrid(collection="kb", query="refunds are back", limit=1)) == ["refund-policy"]


def test_another_process_sees_changes_through_the_shared_database_and_disk_index(kb, search_index_dir):
    # A second process: its own in-memory index over the same database and index directory.
    other = CollectionIndex("kb")
    assert ids(other.search(query="password", limit=1, filters={"locale": "en"})) == ["reset-password"]
    search_document_upsert(collection="kb", doc_id="new-doc", title="Gift cards",
                           text="Gift cards never expire.", filters={"locale": "en"})
    search_document_delete(collection="kb", doc_id="reset-password")
    assert ids(other.search(query="gift cards expire", limit=1, filters={})) == ["new-doc"]
    assert "reset-password" not in ids(other.search(query="password", limit=10, filters={}))
    assert (search_index_dir / "kb" / "lexical").is_dir()


def test_a_restarted_process_reuses_the_disk_index(kb, search_index_dir):
    search_hybrid(collection="kb", query="password")
    state_before = (search_index_dir / "kb" / "state.json").read_text()
    forget_indexes()
    assert ids(search_hybrid(collection="kb", query="password", limit=1)) == ["reset-password"]
    assert (search_index_dir / "kb" / "state.json").read_text() == state_before


def test_an_index_from_another_database_is_rebuilt(kb, search_index_dir):
    search_hybrid(collection="kb", query="password")
    (search_index_dir / "kb" / "state.json").write_text('{"token": "from-a-backup", "seq": 999}')
    forget_indexes()
    assert ids(search_hybrid(collection="kb", query="forgot password", limit=1)) == ["reset-password"]


def test_bulk_upsert_and_stats(db):
    docs = [DocumentIn(doc_id=f"d{i}", title=f"Article {i}", text=f"Topic number {i} about widgets")
            for i in range(30)]
    assert search_documents_upsert(collection="bulk", documents=docs) == 30
    assert len(search_hybrid(collection="bulk", query="widgets", limit=25)) == 25
    assert search_collection_stats()[0]["documents"] == 30
    with pytest.raises(ValidationFailed, match="twice"):
        search_documents_upsert(collection="bulk", documents=[docs[0], docs[0]])


def test_empty_and_huge_queries_get_clear_errors(kb):
    with pytest.raises(ValidationFailed) as empty:
        search_hybrid(collection="kb", query="   ")
    assert empty.value.fields == {"query": "Must not be empty."}
    with pytest.raises(ValidationFailed) as huge:
        search_hybrid(collection="kb", query="refund " * 500)
    assert "At most 1,000 characters" in huge.value.fields["query"]
    with pytest.raises(ValidationFailed) as limit:
        search_hybrid(collection="kb", query="refund", limit=0)
    assert "limit" in limit.value.fields


def test_query_syntax_characters_are_treated_as_words(kb):
    hits = search_hybrid(collection="kb", query='refund AND (title:"x" OR -[*]) ~2 ^3 :', limit=3)
    assert "refund-policy" in ids(hits)


def test_unknown_collection_has_no_results(db):
    assert search_hybrid(collection="not-used-yet", query="anything") == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"collection": "Bad Name", "doc_id": "a", "title": "t", "text": "x"}, "collection"),
    ({"collection": "kb", "doc_id": "", "title": "t", "text": "x"}, "doc_id"),
    ({"collection": "kb", "doc_id": "a", "title": "", "text": "  "}, "text"),
    ({"collection": "kb", "doc_id": "a", "title": "t", "text": "x" * 1_000_001}, "text"),
    ({"collection": "kb", "doc_id": "a", "title": "t", "text": "x", "filters": {"Locale": "en"}}, "filters.Locale"),
    ({"collection": "kb", "doc_id": "a", "title": "t", "text": "x", "filters": {"locale": 5}}, "filters.locale"),
])
def test_invalid_documents_are_refused_and_change_nothing(db, kwargs, field):
    with pytest.raises(ValidationFailed) as error:
        search_document_upsert(**kwargs)
    assert field in error.value.fields
    assert search_collection_stats() == []


def test_snippet_is_the_window_with_the_query_words():
    text = ("Intro words. " * 40) + "To close your account open Settings and choose Close account. " + ("Tail. " * 60)
    snippet = make_snippet(text, "close account")
    assert "close your account" in snippet.lower()
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert make_snippet("Short text.", "anything") == "Short text."
