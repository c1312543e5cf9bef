"""The classifier on its own (no database): learns intents, gives calibrated confidences, refuses thin data."""

from __future__ import annotations

import pytest

from cx.intents.classifier import IntentClassifier, NotEnoughData
from cx.intents.tests.conftest import fixture_rows


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
