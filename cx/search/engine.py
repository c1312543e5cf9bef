"""The hybrid index of one collection, as seen by one process.

Two halves, both derived from the ``SearchDocument`` rows (the source of truth):

* lexical: a tantivy (BM25) index on disk under ``SEARCH_INDEX_DIR`` (default ``CXDESK_HOME/search``), one
  directory per collection, shared by every process on the host. Whoever notices that the database is ahead
  of it applies the missing rows under a file lock; the others just reload it.
* semantic: the documents' embeddings as one in-memory matrix per process, with a boolean column mask per
  filter value (``locale=en``, ``visibility=public``...) so filtered queries cost one vector product.

Before each search the process compares the collection's ``version`` (one indexed row read) with what it has
applied and pulls only the newer rows, so upserts and deletes made by any process are visible to the next
query everywhere. The two ranked lists are fused by reciprocal rank fusion; the final hits are re-read from the
database (tombstones and filters checked again) to build titles and snippets.
"""

from __future__ import annotations

import bisect
import fcntl
import json
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tantivy
from django.conf import settings
from django.db.models.functions import Substr
from threadpoolctl import ThreadpoolController

from cx.search.embeddings import embed_texts, embedding_dimensions
from cx.search.models import SearchCollection, SearchDocument

CANDIDATES = 50  # how deep each half looks before fusion
RRF_K = 60  # the usual reciprocal-rank-fusion constant: flattens the head so both lists get a say
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0
SNIPPET_CHARS = 240
SNIPPET_SCAN_CHARS = 4_000  # snippets come from the head of long documents
# Words too common to help ranking; dropping them from the BM25 query keeps it from scoring every document.
STOP_WORDS = frozenset(["a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "did", "do", "does", "doing", "for", "from", "had", "has", "have", "how", "i", "if", "in",
    "into", "is", "it", "its", "me", "my", "myself", "no", "not", "of", "on", "or", "our", "so", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "us", "very", "was",
    "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your"])
WRITER_HEAP = 64_000_000
_WORD = re.compile(r"\w+", re.UNICODE)
_PREFIXABLE = re.compile(r"[^\W_]+", re.UNICODE)
# Completing the last word of a query ("passw" while typing -> "password"): only from this many letters on (a
# one- or two-letter prefix would expand to a large share of the vocabulary), and it weighs less than a word
# matched in full, so complete matches keep the lead.
PREFIX_MIN_CHARS = 3
PREFIX_BOOST = 0.5


@dataclass(frozen=True)
class SearchHit:
    doc_id: str
    title: str
    score: float  # fused reciprocal-rank score, for ordering
    snippet: str  # plain text (escape it when rendering)
    similarity: float  # cosine similarity of query and document embeddings, -1..1: a calibratable confidence
    lexical_rank: int | None  # 1-based rank in the BM25 list, None if BM25 did not find it
    filters: dict[str, str]


def index_root() -> Path:
    configured = getattr(settings, "SEARCH_INDEX_DIR", None)
    return Path(configured) if configured else Path(settings.CXDESK_HOME) / "search"


def facet_terms(filters: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(filters.items())]


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=False, tokenizer_name="en_stem")
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    builder.add_text_field("facet", stored=False, tokenizer_name="raw")
    return builder.build()


_blas = ThreadpoolController()


def _single_threaded_blas():
    """A query's matrix-vector product runs on one core: BLAS threads only fight the other requests and
    processes for the CPU (measured on 2 cores: p50 16 ms -> 6 ms for 50,000 x 256)."""
    return _blas.limit(limits=1, user_api="blas")


class _Vectors:
    """Embeddings of the live documents of a collection, with per-filter-value column masks."""

    def __init__(self, dims: int):
        self.dims = dims
        self.matrix = np.zeros((256, dims), dtype=np.float32)
        self.alive = np.zeros(256, dtype=bool)
        self.ids: list[str] = []
        self.position: dict[str, int] = {}
        self.facets: list[list[str]] = []
        self.facet_masks: dict[str, np.ndarray] = {}

    def _grow(self) -> None:
        capacity = self.matrix.shape[0] * 2
        self.matrix = np.resize(self.matrix, (capacity, self.dims))
        self.alive = np.concatenate([self.alive, np.zeros(capacity - self.alive.shape[0], dtype=bool)])
        for key, mask in self.facet_masks.items():
            self.facet_masks[key] = np.concatenate([mask, np.zeros(capacity - mask.shape[0], dtype=bool)])

    def upsert(self, doc_id: str, vector: np.ndarray, facets: list[str]) -> None:
        pos = self.position.get(doc_id)
        if pos is None:
            pos = len(self.ids)
            if pos >= self.matrix.shape[0]:
                self._grow()
            self.ids.append(doc_id)
            self.facets.append([])
            self.position[doc_id] = pos
        for old in self.facets[pos]:
            self.facet_masks[old][pos] = False
        self.matrix[pos] = vector
        self.alive[pos] = True
        self.facets[pos] = facets
        for term in facets:
            mask = self.facet_masks.get(term)
            if mask is None:
                mask = self.facet_masks[term] = np.zeros(self.matrix.shape[0], dtype=bool)
            mask[pos] = True

    def delete(self, doc_id: str) -> None:
        pos = self.position.pop(doc_id, None)
        if pos is None:
            return
        self.alive[pos] = False
        for old in self.facets[pos]:
            self.facet_masks[old][pos] = False
        self.facets[pos] = []

    def top(self, query: np.ndarray, filters: list[str], k: int) -> list[tuple[str, float]]:
        n = len(self.ids)
        if n == 0:
            return []
        mask = self.alive[:n].copy()
        for term in filters:
            facet_mask = self.facet_masks.get(term)
            if facet_mask is None:
                return []
            mask &= facet_mask[:n]
        live = int(mask.sum())
        if live == 0:
            return []
        with _single_threaded_blas():
            scores = self.matrix[:n] @ query  # one pass over memory; cheaper than gathering the masked rows
        scores[~mask] = -np.inf
        k = min(k, live)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(self.ids[i], float(scores[i])) for i in best]

    def similarity(self, doc_id: str, query: np.ndarray) -> float:
        pos = self.position.get(doc_id)
        return float(self.matrix[pos] @ query) if pos is not None else 0.0


class CollectionIndex:
    """One collection's hybrid index in this process; safe to share between threads."""

    def __init__(self, name: str):
        self.name = name
        self.directory = index_root() / name
        self._lock = threading.Lock()
        self._token = ""
        self._collection_pk: int | None = None
        self._applied_seq = 0
        self._vectors = _Vectors(embedding_dimensions())
        self._index: tantivy.Index | None = None

    # ----- keeping up with the database -----

    def refresh(self) -> bool:
        """Apply whatever changed since the last call; False when the collection has no documents yet."""
        row = SearchCollection.objects.filter(name=self.name).values_list("pk", "version", "token").first()
        if row is None:
            return False
        pk, version, token = row
        if token != self._token or pk != self._collection_pk:
            self._token, self._collection_pk, self._applied_seq = token, pk, 0
            self._vectors = _Vectors(embedding_dimensions())
            self._index = None
        if version > self._applied_seq:
            self._apply_vectors()
        self._sync_lexical(version)
        return True

    def _apply_vectors(self) -> None:
        rows = (SearchDocument.objects.filter(collection_id=self._collection_pk, seq__gt=self._applied_seq)
                .order_by("seq").values_list("doc_id", "embedding", "filters", "deleted", "seq"))
        if self._applied_seq == 0:
            rows = rows.filter(deleted=False)
        dims = self._vectors.dims
        for doc_id, embedding, filters, deleted, seq in rows.iterator(chunk_size=2000):
            if deleted or not embedding:
                self._vectors.delete(doc_id)
            else:
                self._vectors.upsert(doc_id, np.frombuffer(bytes(embedding), dtype=np.float32, count=dims),
                                     facet_terms(filters))
            self._applied_seq = max(self._applied_seq, seq)

    def _state_path(self) -> Path:
        return self.directory / "state.json"

    def _read_state(self) -> dict:
        try:
            return json.loads(self._state_path().read_text())
        except (OSError, ValueError):
            return {}

    def _open_index(self) -> tantivy.Index:
        lexical = self.directory / "lexical"
        lexical.mkdir(parents=True, exist_ok=True)
        return tantivy.Index(_schema(), path=str(lexical), reuse=True)

    def _sync_lexical(self, version: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = self._read_state()
        if state.get("token") == self._token and state.get("seq", 0) >= version:
            if self._index is None:
                self._index = self._open_index()
            elif state.get("seq") != getattr(self, "_seen_lexical_seq", None):
                self._index.reload()
            self._seen_lexical_seq = state.get("seq")
            return
        with open(self.directory / "write.lock", "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # one writer per collection across processes
            state = self._read_state()
            if state.get("token") != self._token:
                # Another database (a restore, a test run) or a new collection: start over.
                self._index = None
                shutil.rmtree(self.directory / "lexical", ignore_errors=True)
                state = {"token": self._token, "seq": 0}
            index = self._open_index()
            since = state.get("seq", 0)
            rows = (SearchDocument.objects.filter(collection_id=self._collection_pk, seq__gt=since)
                    .order_by("seq").values_list("doc_id", "title", "text", "filters", "deleted", "seq"))
            if since == 0:
                rows = rows.filter(deleted=False)
            writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
            if since == 0:
                writer.delete_all_documents()
            newest = since
            for doc_id, title, text, filters, deleted, seq in rows.iterator(chunk_size=2000):
                writer.delete_documents_by_term("doc_id", doc_id)
                if not deleted:
                    writer.add_document(tantivy.Document(doc_id=doc_id, title=title, body=text,
                                                         facet=facet_terms(filters)))
                newest = max(newest, seq)
            writer.commit()
            writer.wait_merging_threads()
            state = {"token": self._token, "seq": max(newest, version)}
            tmp = self._state_path().with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self._state_path())
        index.reload()
        self._index = index
        self._seen_lexical_seq = state["seq"]

    # ----- querying -----

    def _lexical(self, query: str, filters: list[str], k: int, complete_last_word: bool = False) -> list[str]:
        tokens = _WORD.findall(query.lower())
        words = " ".join([t for t in tokens if t not in STOP_WORDS] or tokens)
        if not words or self._index is None:
            return []
        parsed, _errors = self._index.parse_query_lenient(words, ["title", "body"], field_boosts={"title": 2.0})
        schema = self._index.schema
        last = tokens[-1] if tokens else ""
        if complete_last_word and len(last) >= PREFIX_MIN_CHARS and last not in STOP_WORDS \
                and _PREFIXABLE.fullmatch(last):
            # The indexed terms are stems, and a word typed part-way is a prefix of its stem: "passw" finds
            # "password", "deliver" finds "deliveri" (delivery). The term dictionary is an FST, so expanding the
            # prefix scans no documents.
            pattern = f"{last}.*"
            prefix = tantivy.Query.boolean_query([
                (tantivy.Occur.Should, tantivy.Query.regex_query(schema, "title", pattern)),
                (tantivy.Occur.Should, tantivy.Query.regex_query(schema, "body", pattern)),
            ])
            parsed = tantivy.Query.boolean_query([
                (tantivy.Occur.Should, parsed),
                (tantivy.Occur.Should, tantivy.Query.boost_query(prefix, PREFIX_BOOST)),
            ])
        if filters:
            clauses = [(tantivy.Occur.Must, parsed)]
            clauses += [(tantivy.Occur.Must, tantivy.Query.term_query(schema, "facet", term)) for term in filters]
            parsed = tantivy.Query.boolean_query(clauses)
        searcher = self._index.searcher()
        result = searcher.search(parsed, k)
        return [searcher.doc(address)["doc_id"][0] for _score, address in result.hits]

    def search(self, *, query: str, limit: int, filters: dict[str, str],
               complete_last_word: bool = False) -> list[SearchHit]:
        with self._lock:
            if not self.refresh():
                return []
            terms = facet_terms(filters)
            query_vector = embed_texts([query])[0]
            depth = max(CANDIDATES, limit)
            lexical = self._lexical(query, terms, depth, complete_last_word)
            semantic = self._vectors.top(query_vector, terms, depth)
            fused: dict[str, float] = {}
            lexical_rank: dict[str, int] = {}
            for rank, doc_id in enumerate(lexical, start=1):
                fused[doc_id] = fused.get(doc_id, 0.0) + LEXICAL_WEIGHT / (RRF_K + rank)
                lexical_rank[doc_id] = rank
            for rank, (doc_id, _similarity) in enumerate(semantic, start=1):
                fused[doc_id] = fused.get(doc_id, 0.0) + SEMANTIC_WEIGHT / (RRF_K + rank)
            # A few spare candidates in case the database says one is gone (a delete racing this query).
            ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: limit + 5]
            similarities = {doc_id: self._vectors.similarity(doc_id, query_vector) for doc_id, _ in ordered}
        rows = {
            doc_id: (title, text, doc_filters)
            for doc_id, title, text, doc_filters in SearchDocument.objects.filter(
                collection_id=self._collection_pk, doc_id__in=[doc_id for doc_id, _ in ordered], deleted=False
            ).annotate(head=Substr("text", 1, SNIPPET_SCAN_CHARS)).values_list("doc_id", "title", "head", "filters")
        }
        hits: list[SearchHit] = []
        for doc_id, score in ordered:
            found = rows.get(doc_id)
            if found is None or any(found[2].get(key) != value for key, value in filters.items()):
                continue
            title, text, doc_filters = found
            hits.append(SearchHit(doc_id=doc_id, title=title, score=round(score, 6),
                                  snippet=make_snippet(text, query), similarity=round(similarities[doc_id], 4),
                                  lexical_rank=lexical_rank.get(doc_id), filters=doc_filters))
            if len(hits) == limit:
                break
        return hits


def make_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The window of ``text`` with the most query words (matched on their first five letters), as plain text."""
    text = " ".join(text[:SNIPPET_SCAN_CHARS].split())
    if len(text) <= width:
        return text
    stems = sorted({word[:5] for word in _WORD.findall(query.lower()) if len(word) > 2 and word not in STOP_WORDS},
                   key=len, reverse=True)
    best_start = 0
    if stems:
        # One C-speed regex pass finds where the query words occur; the best window starts at one of them.
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in stems) + ")")
        starts = [match.start() for match in pattern.finditer(text.lower())]
        best_hits = 0
        for i, start in enumerate(starts):
            hits = bisect.bisect_left(starts, start + width - 12, lo=i) - i
            if hits > best_hits:
                best_start, best_hits = start, hits
        if best_start > 0:
            # Begin at the sentence (or at least the word) the first match is in, when it is close.
            sentence = max(text.rfind(". ", 0, best_start), text.rfind("\n", 0, best_start))
            best_start = sentence + 2 if sentence >= 0 and best_start - sentence < width // 3 else best_start
    snippet = text[best_start:best_start + width]
    if best_start + width < len(text):
        snippet = snippet.rsplit(" ", 1)[0] + " …"
    return ("… " if best_start > 0 else "") + snippet


_indexes: dict[str, CollectionIndex] = {}
_indexes_lock = threading.Lock()


def collection_index(name: str) -> CollectionIndex:
    with _indexes_lock:
        index = _indexes.get(name)
        if index is None or index.directory.parent != index_root():
            index = _indexes[name] = CollectionIndex(name)
        return index


def forget_indexes() -> None:
    """Drop this process's in-memory indexes (tests; a process that switched databases)."""
    with _indexes_lock:
        _indexes.clear()
