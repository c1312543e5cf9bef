"""Reads from search collections: hybrid (BM25 + embeddings) search with filters and snippets."""

from __future__ import annotations

import numpy as np

from cx.core.errors import ValidationFailed
from cx.search.embeddings import embed_texts, token_ids, token_table
from cx.search.engine import SearchHit, collection_index
from cx.search.models import SearchCollection, SearchDocument
from cx.search.services import validate_collection_name, validate_filters

MAX_QUERY_CHARS = 1_000
MAX_LIMIT = 100

__all__ = ["SearchHit", "embedding_token_ids", "embedding_token_table", "search_collection_stats", "search_hybrid",
           "text_embeddings"]


def search_hybrid(*, collection: str, query: str, limit: int = 10, filters: dict[str, str] | None = None,
                  complete_last_word: bool = False) -> list[SearchHit]:
    """The best ``limit`` documents of ``collection`` for ``query`` whose filters match all of ``filters``.

    ``complete_last_word`` also matches the query's last word (3+ letters) as a prefix of indexed words, for
    search boxes that search while the user types ("passw" finds "password"); whole-word matches rank higher.

    Raises ValidationFailed for an empty or over-long query, a bad limit or bad filters; an unknown (not yet
    used) collection has no documents and returns [].
    """
    validate_collection_name(collection)
    if not isinstance(query, str) or not query.strip():
        raise ValidationFailed("Enter something to search for.", fields={"query": "Must not be empty."})
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationFailed("The search query is too long.",
                               fields={"query": f"At most {MAX_QUERY_CHARS:,} characters (got {len(query):,})."})
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("Invalid limit.", fields={"limit": f"Must be between 1 and {MAX_LIMIT}."})
    clean_filters = validate_filters(filters)
    return collection_index(collection).search(query=query.strip(), limit=limit, filters=clean_filters,
                                               complete_last_word=complete_last_word)


def search_collection_stats() -> list[dict]:
    """Every collection with its live document count and version (for admins and monitoring)."""
    stats = []
    for coll in SearchCollection.objects.order_by("name"):
        live = SearchDocument.objects.filter(collection=coll, deleted=False).count()
        stats.append({"name": coll.name, "documents": live, "version": coll.version, "updated_at": coll.updated_at})
    return stats


def text_embeddings(texts: list[str]) -> np.ndarray:
    """The shipped sentence embeddings (L2-normalised float32 rows) for other apps' models, e.g. intents."""
    return embed_texts(texts)


def embedding_token_ids(texts: list[str]) -> list[list[int]]:
    """The shipped embedding model's token ids of each text (rows of ``embedding_token_table``), for models that
    fine-tune the token vectors (the intent classifier)."""
    return token_ids(texts)


def embedding_token_table() -> np.ndarray:
    """The shipped model's token vectors (vocabulary x dimensions, float32, read-only): a text's embedding
    before normalisation is the mean of its tokens' rows."""
    return token_table()
