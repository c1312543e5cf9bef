"""The intent classifier: ticket text -> intent label with a calibrated confidence. Pure computation, no Django.

Features are word 1-2-gram TF-IDF (exact product words and phrases) joined with the shipped sentence embedding
(meaning: "money back" ~ "refund"), weighted x2. Character n-grams were measured too: +0.05 points of accuracy on
BANKING77 for a third of the speed, so they are left out. A linear SVM separates the intents; its scores
are turned into probabilities by sigmoid calibration on cross-validation folds (CalibratedClassifierCV), so the
confidence an admin thresholds on means "how often a prediction this confident is right".

A second model joins it when torch is available: the shipped static embeddings fine-tuned on the same examples
with a linear head (``cx.intents.tuned_embeddings``); the two models' probabilities are averaged with weight
``TUNED_WEIGHT``. Predicting stays numpy-only and about as fast as before.

A third stage, when asked for (``transformer=True``; the product follows the CXDESK_INTENT_TRANSFORMER setting):
all-MiniLM-L6-v2 fine-tuned on the same examples (``cx.intents.transformer``). It is a cascade: the two fast
models answer alone when their averaged confidence is at least ``CASCADE_THRESHOLD``, which they are right
about 97 % of the time; for the uncertain rest (about one question in six on BANKING77) the fine-tuned
transformer is asked too and its probabilities are averaged in with weight ``TRANSFORMER_WEIGHT``. Costs:
minutes of CPU per training, and int8 ONNX inference for the routed share only.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

# scikit-learn, scipy and joblib are imported where they are used: every cxdesk process (web, worker, CLI)
# imports this module through the intents app, and only training and prediction need them.

MIN_EXAMPLES_PER_LABEL = 3  # calibration needs one example of each label in each of 3 folds
MIN_LABELS = 2
MAX_TEXT_CHARS = 2_000
EMBEDDING_WEIGHT = 2.0
# Share of the fine-tuned embedding model in the averaged probabilities (chosen on a 10 % holdout inside the
# BANKING77 training split, never on a test set; see benchmarks/RESULTS.md).
TUNED_WEIGHT = 0.3
# The cascade (same holdout): texts whose fast-model confidence is below the threshold also ask the fine-tuned
# transformer, whose probabilities then get this weight.
CASCADE_THRESHOLD = 0.6
TRANSFORMER_WEIGHT = 0.5


class NotEnoughData(ValueError):
    """The labelled data cannot train a classifier; the message says what is missing."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    alternatives: list[tuple[str, float]]  # the next best labels with their probabilities


def check_training_data(labels: list[str]) -> list[str]:
    """The labels that have enough examples; raises NotEnoughData when fewer than two remain."""
    counts = Counter(labels)
    usable = sorted(label for label, n in counts.items() if n >= MIN_EXAMPLES_PER_LABEL)
    if len(usable) < MIN_LABELS:
        detail = ", ".join(f"{label}: {n}" for label, n in sorted(counts.items())) or "no labelled examples"
        raise NotEnoughData(
            f"Too little labelled data to train: need at least {MIN_LABELS} intents with at least "
            f"{MIN_EXAMPLES_PER_LABEL} examples each (have {detail}).")
    return usable


def _clean(texts: list[str]) -> list[str]:
    return [" ".join(str(t).split())[:MAX_TEXT_CHARS] for t in texts]


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class IntentClassifier:
    def __init__(self, *, tuned_embeddings: bool = True, transformer: bool = False,
                 transformer_epochs: int | None = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.use_tuned_embeddings = tuned_embeddings
        self.use_transformer = transformer
        self.transformer_epochs = transformer_epochs  # None: cx.intents.transformer.EPOCHS
        self.tuned: Any = None  # TunedEmbeddingClassifier once trained (None: the linear model alone)
        self.transformer: Any = None  # TransformerIntentClassifier once trained (None: no cascade)
        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True, max_features=200_000)
        self.model: Any = None  # sklearn CalibratedClassifierCV once trained
        self.labels: list[str] = []
        self.skipped_labels: dict[str, int] = {}
        self.trained_examples = 0
        self.training_seconds = 0.0

    def _features(self, texts: list[str], *, fit: bool = False):
        from scipy.sparse import csr_matrix, hstack

        from cx.search.selectors import text_embeddings

        words = self.words.fit_transform(texts) if fit else self.words.transform(texts)
        embeddings = csr_matrix(text_embeddings(texts) * EMBEDDING_WEIGHT)
        return hstack([words, embeddings], format="csr")

    def fit(self, texts: list[str], labels: list[str]) -> IntentClassifier:
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        usable = set(check_training_data(labels))
        counts = Counter(labels)
        self.skipped_labels = {label: n for label, n in sorted(counts.items()) if label not in usable}
        pairs = [(t, y) for t, y in zip(_clean(texts), labels, strict=True) if y in usable and t]
        texts_ok, labels_ok = [p[0] for p in pairs], [p[1] for p in pairs]
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import LinearSVC

        started = time.perf_counter()
        features = self._features(texts_ok, fit=True)
        self.model = CalibratedClassifierCV(LinearSVC(C=0.5), method="sigmoid", cv=3, ensemble=False)
        self.model.fit(features, labels_ok)
        self.labels = [str(label) for label in self.model.classes_]
        self.tuned = None
        if self.use_tuned_embeddings and _torch_available():
            from cx.intents.tuned_embeddings import TunedEmbeddingClassifier

            index = {label: i for i, label in enumerate(self.labels)}
            self.tuned = TunedEmbeddingClassifier().fit(texts_ok, [index[y] for y in labels_ok], len(self.labels))
        self.transformer = None
        if self.use_transformer and _torch_available():
            from cx.intents.transformer import EPOCHS, TransformerIntentClassifier

            index = {label: i for i, label in enumerate(self.labels)}
            self.transformer = TransformerIntentClassifier(epochs=self.transformer_epochs or EPOCHS).fit(
                texts_ok, [index[y] for y in labels_ok], len(self.labels))
        self.trained_examples = len(texts_ok)
        self.training_seconds = time.perf_counter() - started
        return self

    def predict_proba(self, texts: list[str]):
        return self._predict_proba(_clean(texts))

    def cascade_share(self, texts: list[str]) -> float:
        """The share of these texts the fast models are unsure of (so the transformer is asked too)."""
        if not texts or getattr(self, "transformer", None) is None:
            return 0.0
        return float((self._fast_proba(_clean(texts)).max(axis=1) < CASCADE_THRESHOLD).mean())

    def _fast_proba(self, texts: list[str]):
        if self.model is None:
            raise RuntimeError("the classifier is not trained")
        probabilities = self.model.predict_proba(self._features(texts))
        tuned = getattr(self, "tuned", None)  # models stored before the ensemble have none
        if tuned is not None:
            probabilities = (1 - TUNED_WEIGHT) * probabilities + TUNED_WEIGHT * tuned.predict_proba(texts)
        return probabilities

    def _predict_proba(self, texts: list[str]):
        probabilities = self._fast_proba(texts)
        transformer = getattr(self, "transformer", None)  # models stored before the cascade have none
        if transformer is None or not len(texts):
            return probabilities
        unsure = (probabilities.max(axis=1) < CASCADE_THRESHOLD).nonzero()[0]
        if len(unsure):
            asked = transformer.predict_proba([texts[i] for i in unsure])
            probabilities[unsure] = (1 - TRANSFORMER_WEIGHT) * probabilities[unsure] + TRANSFORMER_WEIGHT * asked
        return probabilities

    def component_probabilities(self, texts: list[str]) -> dict[str, Any]:
        """Each ensemble member's probabilities on its own (for evaluation reports)."""
        texts = _clean(texts)
        found = {"linear model (TF-IDF + embeddings)": self.model.predict_proba(self._features(texts))}
        if getattr(self, "tuned", None) is not None:
            found["tuned embeddings"] = self.tuned.predict_proba(texts)
        if getattr(self, "transformer", None) is not None:
            found["fine-tuned MiniLM (int8)"] = self.transformer.predict_proba(texts)
        return found

    def predict(self, texts: list[str], *, alternatives: int = 2) -> list[Prediction]:
        import numpy as np

        if not texts:
            return []
        probabilities = self.predict_proba(texts)
        order = np.argsort(-probabilities, axis=1)[:, : alternatives + 1]
        return [
            Prediction(label=self.labels[row[0]], confidence=float(probs[row[0]]),
                       alternatives=[(self.labels[i], float(probs[i])) for i in row[1:]])
            for row, probs in zip(order, probabilities, strict=True)
        ]

    def to_bytes(self) -> bytes:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(self, buffer, compress=3)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> IntentClassifier:
        import joblib

        # Only ever loads what IntentClassifier.to_bytes wrote into our own database.
        classifier = joblib.load(io.BytesIO(data))
        if not isinstance(classifier, IntentClassifier):
            raise ValueError("not an intent classifier")
        return classifier
