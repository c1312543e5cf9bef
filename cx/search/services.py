"""Writes to search collections: the public API that the KB, the portal and the answer bot call.

``search_document_upsert`` / ``search_document_delete`` change the database rows (the source of truth) in the
caller's transaction; every process's index catches up before its next query (see ``cx.search.engine``), and
the writing process also updates its own index right after commit so the next query pays nothing.
Index rows are derived data (the caller audits its own records, e.g. the article), so no audit events here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import F

from cx.core.errors import ValidationFailed
from cx.search.embeddings import embed_texts
from cx.search.engine import collection_index
from cx.search.models import SearchCollection, SearchDocument

COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
FILTER_KEY = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_DOC_ID = 255
MAX_TITLE = 1_000
MAX_TEXT = 1_000_000
MAX_FILTER_VALUE = 200
MAX_FILTERS = 20


@dataclass(frozen=True)
class DocumentIn:
    doc_id: str
    title: str
    text: str
    filters: dict[str, str] | None = None


def validate_collection_name(collection: str) -> str:
    if not isinstance(collection, str) or not COLLECTION_NAME.match(collection):
        raise ValidationFailed("Invalid collection name.", fields={
            "collection": "Use 1-64 lowercase letters, digits, '_', '-' or '.', starting with a letter or digit."})
    return collection


def validate_filters(filters: dict[str, str] | None, *, field: str = "filters") -> dict[str, str]:
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise ValidationFailed("Filters must be an object of names to values.", fields={field: "Not an object."})
    if len(filters) > MAX_FILTERS:
        raise ValidationFailed("Too many filters.", fields={field: f"At most {MAX_FILTERS}."})
    clean: dict[str, str] = {}
    for key, value in filters.items():
        if not isinstance(key, str) or not FILTER_KEY.match(key):
            raise ValidationFailed("Invalid filter name.", fields={
                f"{field}.{key}": "Use 1-40 lowercase letters, digits or '_'."})
        if not isinstance(value, str) or not value or len(value) > MAX_FILTER_VALUE or "\n" in value:
            raise ValidationFailed("Invalid filter value.", fields={
                f"{field}.{key}": f"Must be a non-empty single-line string of at most {MAX_FILTER_VALUE} characters."})
        clean[key] = value
    return clean


def _validate_document(doc: DocumentIn) -> DocumentIn:
    fields: dict[str, str] = {}
    if not isinstance(doc.doc_id, str) or not doc.doc_id.strip() or len(doc.doc_id) > MAX_DOC_ID:
        fields["doc_id"] = f"Required, at most {MAX_DOC_ID} characters."
    if not isinstance(doc.title, str) or len(doc.title) > MAX_TITLE:
        fields["title"] = f"Must be text of at most {MAX_TITLE} characters."
    if not isinstance(doc.text, str) or len(doc.text) > MAX_TEXT:
        fields["text"] = f"Must be text of at most {MAX_TEXT:,} characters."
    if not fields and not (doc.title.strip() or doc.text.strip()):
        fields["text"] = "A document needs a title or a text."
    if fields:
        raise ValidationFailed("Invalid search document.", fields=fields)
    return DocumentIn(doc_id=doc.doc_id, title=doc.title, text=doc.text, filters=validate_filters(doc.filters))


def _refresh_after_commit(collection: str) -> None:
    def refresh() -> None:
        index = collection_index(collection)
        with index._lock:
            index.refresh()

    transaction.on_commit(refresh)


def search_documents_upsert(*, collection: str, documents: Iterable[DocumentIn]) -> int:
    """Add or replace many documents at once (bulk indexing); returns how many were written."""
    validate_collection_name(collection)
    docs = [_validate_document(doc) for doc in documents]
    if not docs:
        return 0
    if len({doc.doc_id for doc in docs}) != len(docs):
        raise ValidationFailed("The same doc_id appears twice.", fields={"doc_id": "Must be unique in one call."})
    vectors = embed_texts([f"{doc.title}\n{doc.text}" for doc in docs])  # outside the transaction: no locks held
    with transaction.atomic():
        coll, _ = SearchCollection.objects.get_or_create(name=collection)
        SearchCollection.objects.filter(pk=coll.pk).update(version=F("version") + len(docs))
        version = SearchCollection.objects.values_list("version", flat=True).get(pk=coll.pk)
        first_seq = version - len(docs) + 1
        existing = {d.doc_id: d for d in SearchDocument.objects.filter(
            collection=coll, doc_id__in=[doc.doc_id for doc in docs])}
        to_create, to_update = [], []
        for offset, (doc, vector) in enumerate(zip(docs, vectors, strict=True)):
            row = existing.get(doc.doc_id) or SearchDocument(collection=coll, doc_id=doc.doc_id)
            row.title, row.text, row.filters = doc.title, doc.text, doc.filters
            row.embedding = np.asarray(vector, dtype="<f4").tobytes()
            row.seq, row.deleted = first_seq + offset, False
            (to_update if row.pk else to_create).append(row)
        SearchDocument.objects.bulk_create(to_create, batch_size=1000)
        SearchDocument.objects.bulk_update(to_update, ["title", "text", "filters", "embedding", "seq", "deleted",
                                                       "updated_at"], batch_size=1000)
        _refresh_after_commit(collection)
    return len(docs)


def search_document_upsert(*, collection: str, doc_id: str, title: str, text: str,
                           filters: dict[str, str] | None = None) -> None:
    """Add a document to a collection (created on first use) or replace the one with the same ``doc_id``.

    ``filters`` are exact-match attributes a search can require, e.g. ``{"locale": "en", "visibility": "public"}``.
    """
    search_documents_upsert(collection=collection,
                            documents=[DocumentIn(doc_id=doc_id, title=title, text=text, filters=filters)])


@transaction.atomic
def search_document_delete(*, collection: str, doc_id: str) -> bool:
    """Remove a document from search; True if it was there (deleting an unknown id is not an error)."""
    validate_collection_name(collection)
    coll = SearchCollection.objects.select_for_update().filter(name=collection).first()
    if coll is None:
        return False
    row = SearchDocument.objects.filter(collection=coll, doc_id=doc_id, deleted=False).first()
    if row is None:
        return False
    coll.version += 1
    coll.save(update_fields=["version", "updated_at"])
    row.deleted, row.seq, row.title, row.text, row.filters, row.embedding = True, coll.version, "", "", {}, b""
    row.save(update_fields=["deleted", "seq", "title", "text", "filters", "embedding", "updated_at"])
    _refresh_after_commit(collection)
    return True
