"""Sentiment of customer comments: positive / neutral / negative / mixed with a score from -1 to +1.

The classifier is a logistic regression over word and character TF-IDF n-grams, VADER's lexicon scores
and MiniLM sentence embeddings, trained on the Sentiment Labelled Sentences reviews (Kotzias et al., KDD 2015,
CC BY 4.0). It is trained by ``cxdesk surveys_train_sentiment`` into ``model/sentiment.joblib`` (shipped in
the repository) and evaluated by ``cxdesk eval sentiment``. Probabilities are calibrated (sigmoid, 5-fold).

A comment is ``mixed`` when its sentences disagree strongly, ``neutral`` when the model is unsure and no
sentiment-bearing word is present, otherwise positive or negative.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

MODEL_PATH = Path(__file__).parent / "model" / "sentiment.joblib"
EMBEDDING_WEIGHT = 2.0
VADER_WEIGHT = 3.0
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|\s+but\s+", re.IGNORECASE)
_lock = threading.Lock()
_loaded = None
_vader = None


def _vader_analyzer():
    global _vader
    if _vader is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _vader = SentimentIntensityAnalyzer()
    return _vader


def vader_scores(texts: list[str]) -> np.ndarray:
    analyzer = _vader_analyzer()
    rows = []
    for text in texts:
        s = analyzer.polarity_scores(text)
        rows.append([s["compound"], s["pos"], s["neg"]])
    return np.array(rows, dtype=np.float64).reshape(len(texts), 3)


@dataclass
class SentimentModel:
    """Vectorisers plus a calibrated classifier; ``predict_proba`` gives P(positive) per text."""

    words: object
    chars: object
    classifier: object
    use_embeddings: bool = True

    def _features(self, texts: list[str]):
        blocks = [self.words.transform(texts), self.chars.transform(texts),
                  sp.csr_matrix(vader_scores(texts) * VADER_WEIGHT)]
        if self.use_embeddings:
            from cx.surveys.text.embeddings import embed

            blocks.append(sp.csr_matrix(embed(texts) * EMBEDDING_WEIGHT))
        return sp.hstack(blocks).tocsr()

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        return self.classifier.predict_proba(self._features(texts))[:, 1]


def train(sentences: list[str], labels: list[int], *, use_embeddings: bool = True, c: float = 10.0) -> SentimentModel:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    words.fit(sentences)
    chars.fit(sentences)
    model = SentimentModel(words=words, chars=chars, classifier=None, use_embeddings=use_embeddings)
    features = model._features(sentences)
    classifier = CalibratedClassifierCV(LogisticRegression(C=c, max_iter=5000), method="sigmoid", cv=5)
    classifier.fit(features, np.asarray(labels))
    model.classifier = classifier
    return model


def save(model: SentimentModel, path: Path = MODEL_PATH) -> None:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=3)


def load(path: Path = MODEL_PATH) -> SentimentModel:
    global _loaded
    with _lock:
        if _loaded is None or path != MODEL_PATH:
            import joblib

            if not path.exists():
                raise FileNotFoundError(f"No sentiment model at {path}: run `cxdesk surveys_train_sentiment`.")
            model = joblib.load(path)
            if path != MODEL_PATH:
                return model
            _loaded = model
    return _loaded


@dataclass(frozen=True)
class SentimentResult:
    label: str  # positive, neutral, negative, mixed
    score: float  # -1 (negative) … +1 (positive)
    probability_positive: float


def label_from(probability: float, sentence_probabilities: list[float], has_sentiment_words: bool) -> str:
    """Pure decision rule, tested on its own. The classifier only knows positive and negative (its training
    data has no neutrals), so "neutral" needs both an unsure model and no sentiment-bearing word."""
    strong_pos = any(p >= 0.6 for p in sentence_probabilities)
    strong_neg = any(p <= 0.3 for p in sentence_probabilities)
    if len(sentence_probabilities) > 1 and strong_pos and strong_neg:
        return "mixed"
    if not has_sentiment_words and 0.06 <= probability <= 0.92:
        return "neutral"
    if 0.4 <= probability <= 0.6:
        return "neutral"
    return "positive" if probability > 0.5 else "negative"


def analyse(text: str, model: SentimentModel | None = None) -> SentimentResult:
    model = model or load()
    text = text.strip()
    sentences = [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and len(s.strip()) > 2]
    probabilities = model.predict_proba([text, *sentences]) if len(sentences) > 1 else model.predict_proba([text])
    overall = float(probabilities[0])
    per_sentence = [float(p) for p in probabilities[1:]]
    vader = vader_scores([text])[0]
    has_words = abs(vader[0]) >= 0.25  # a clear lexicon signal, not one mildly positive word like "number"
    label = label_from(overall, per_sentence, has_words)
    return SentimentResult(label=label, score=2 * overall - 1, probability_positive=overall)
