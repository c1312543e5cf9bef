"""Search collections and their documents: the source of truth for the hybrid index.

Every change bumps the collection's ``version`` and stamps the document with it (``seq``). Each process keeps
its in-memory vectors and the shared on-disk lexical index up to date by applying the rows whose ``seq`` is
newer than what it has seen, so any number of web/worker processes agree without messaging each other.
Deleted documents stay as tombstones (``deleted=True``, text emptied) so other processes learn of the deletion.
"""

from __future__ import annotations

import uuid

from django.db import models


def _new_token() -> str:
    return uuid.uuid4().hex


class SearchCollection(models.Model):
    name = models.CharField(max_length=64, unique=True)
    version = models.BigIntegerField(default=0)
    # Identifies this collection's rows: an on-disk index built from another database (a restore, a test
    # run) carries a different token and is rebuilt instead of trusted.
    token = models.CharField(max_length=32, default=_new_token, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class SearchDocument(models.Model):
    collection = models.ForeignKey(SearchCollection, on_delete=models.CASCADE, related_name="documents")
    doc_id = models.CharField(max_length=255)
    title = models.TextField(blank=True)
    text = models.TextField(blank=True)
    filters = models.JSONField(default=dict, blank=True)
    # float32 little-endian, L2-normalised; empty for tombstones.
    embedding = models.BinaryField(default=b"")
    seq = models.BigIntegerField()
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "doc_id"], name="search_doc_unique")]
        indexes = [models.Index(fields=["collection", "seq"], name="search_doc_seq_idx")]

    def __str__(self) -> str:
        return f"{self.collection_id}:{self.doc_id}"
