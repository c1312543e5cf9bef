"""Grouping comments into themes: k-means over sentence embeddings, each group named by its key terms
(class-based TF-IDF: words frequent in the group and rare in the others). Pure computation, no Django."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_COMMENTS = 6
MAX_THEMES = 10
STOP_EXTRA = {"just", "really", "did", "didn", "don", "got", "get", "ve", "ll", "im", "would", "could", "also"}


@dataclass(frozen=True)
class Cluster:
    members: list[int]  # indices into the input
    key_terms: list[str]

    @property
    def label(self) -> str:
        return ", ".join(self.key_terms[:3]) or "other"


def theme_count(n: int) -> int:
    return max(2, min(MAX_THEMES, round(math.sqrt(n / 2))))


def cluster_comments(texts: list[str], vectors: np.ndarray, *, k: int | None = None, seed: int = 7) -> list[Cluster]:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    if len(texts) < MIN_COMMENTS:
        return []
    k = min(k or theme_count(len(texts)), len(texts))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors)
    counter = CountVectorizer(stop_words=list(ENGLISH_STOP_WORDS | STOP_EXTRA), token_pattern=r"(?u)\b[a-zA-Z]{3,}\b",  # noqa: S106
                              ngram_range=(1, 1))
    try:
        counts = counter.fit_transform(texts)
    except ValueError:  # only stop words
        return [Cluster(members=[i for i, c in enumerate(labels) if c == g], key_terms=[]) for g in range(k)]
    vocabulary = np.array(counter.get_feature_names_out())
    per_class = np.vstack([np.asarray(counts[labels == g].sum(axis=0)).ravel() for g in range(k)]).astype(float)
    class_totals = per_class.sum(axis=1, keepdims=True)
    class_totals[class_totals == 0] = 1
    average = per_class.sum() / k
    idf = np.log(1 + average / np.maximum(per_class.sum(axis=0), 1))
    ctfidf = per_class / class_totals * idf
    clusters = []
    for g in range(k):
        members = [i for i, c in enumerate(labels) if c == g]
        if not members:
            continue
        order = np.argsort(-ctfidf[g])
        terms = [str(vocabulary[i]) for i in order[:5] if per_class[g, i] > 0]
        clusters.append(Cluster(members=members, key_terms=terms))
    return sorted(clusters, key=lambda c: -len(c.members))
