"""The classifier on its own (no database): learns intents, gives calibrated confidences, refuses thin data."""

from __future__ import annotations

import numpy as np
import pytest

from cx.intents.classifier import TUNED_WEIGHT, IntentClassifier, NotEnoughData
from cx.intents.tests.conftest import fixture_rows
from cx.search.selectors import embedding_token_ids


def test_classifier_learns_intents_and_predicts_with_confidence():
    train, test = fixture_rows("intents_train.csv"), fixture_rows("intents_test.csv")
    classifier = IntentClassifier().fit([r["text"] for r in train], [r["category"] for r in train])
    predictions = classifier.predict([r["text"] for r in test])
    accuracy = sum(p.label == r["category"] for p, r in zip(predictions, test, strict=True)) / len(test)
    assert accuracy >= 0.7  # 15 examples per intent
    assert all(0 < p.confidence <= 1 for p in predictions)
    assert predictions[0].alternatives and predictions[0].alternatives[0][1] <= predictions[0].confidence
    assert classifier.predict(["My card has still not arrived after two weeks"])[0].label == "card_arrival"


def test_a_saved_classifier_predicts_the_same():
    train = fixture_rows("intents_train.csv")
    classifier = IntentClassifier().fit([r["text"] for r in train], [r["category"] for r in train])
    restored = IntentClassifier.from_bytes(classifier.to_bytes())
    text = ["what is the exchange rate for euros"]
    assert restored.predict(text)[0] == classifier.predict(text)[0]


def test_too_little_data_gets_a_clear_message():
    with pytest.raises(NotEnoughData, match=r"at least 2 intents with at least 3 examples each \(have a: 5, b: 2\)"):
        IntentClassifier().fit(["x"] * 7, ["a"] * 5 + ["b"] * 2)
    with pytest.raises(NotEnoughData, match="no labelled examples"):
        IntentClassifier().fit([], [])


def test_intents_with_too_few_examples_are_left_out_and_reported():
    texts = ["card not here"] * 3 + ["exchange rate please"] * 3 + ["lost my card"]
    labels = ["card_arrival"] * 3 + ["exchange_rate"] * 3 + ["lost_or_stolen_card"]
    classifier = IntentClassifier().fit(texts, labels)
    assert classifier.labels == ["card_arrival", "exchange_rate"]
    assert classifier.skipped_labels == {"lost_or_stolen_card": 1}


def test_the_linear_model_and_the_tuned_embeddings_are_averaged():
    train, test = fixture_rows("intents_train.csv"), fixture_rows("intents_test.csv")
    texts, labels = [r["text"] for r in train], [r["category"] for r in train]
    classifier = IntentClassifier().fit(texts, labels)
    assert classifier.tuned is not None
    # Only the vectors of tokens seen in the examples are kept (the rest are the shipped ones).
    seen = {token for row in embedding_token_ids(texts) for token in row}
    assert set(classifier.tuned.rows.tolist()) == seen
    questions = [r["text"] for r in test]
    linear = classifier.model.predict_proba(classifier._features(questions))
    tuned = classifier.tuned.predict_proba(questions)
    assert np.allclose(tuned.sum(axis=1), 1.0)
    expected = (1 - TUNED_WEIGHT) * linear + TUNED_WEIGHT * tuned
    assert np.allclose(classifier.predict_proba(questions), expected)
    # The tuned model has learnt the intents on its own too.
    accuracy = np.mean([classifier.labels[i] == r["category"] for i, r in zip(tuned.argmax(axis=1), test, strict=True)])
    assert accuracy >= 0.6
    # Texts without any known token still get a distribution.
    assert np.allclose(classifier.tuned.predict_proba(["", "🙂"]).sum(axis=1), 1.0)


def test_without_the_tuned_embeddings_and_for_models_stored_before_them_the_linear_model_answers_alone():
    train = fixture_rows("intents_train.csv")
    texts, labels = [r["text"] for r in train], [r["category"] for r in train]
    linear_only = IntentClassifier(tuned_embeddings=False).fit(texts, labels)
    assert linear_only.tuned is None
    question = ["what is the exchange rate for euros"]
    assert np.allclose(linear_only.predict_proba(question),
                       linear_only.model.predict_proba(linear_only._features(question)))
    old = IntentClassifier.from_bytes(linear_only.to_bytes())
    del old.__dict__["tuned"]  # a classifier pickled by the previous version
    assert old.predict(question)[0] == linear_only.predict(question)[0]
