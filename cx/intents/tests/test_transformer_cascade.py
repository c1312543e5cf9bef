"""The intent classifier's transformer stage (fine-tuned MiniLM, int8 ONNX) through the paths that use it: the
trained model loaded from the database, `cxdesk train intents` + ticket routing, and `cxdesk eval intents`. The
test settings switch the stage off for every other test (it costs seconds per training: the ONNX export and
int8 quantisation of the whole encoder); these switch it on. Tiny data (4 intents x 15), the real code path."""

from __future__ import annotations

import io
import re

import numpy as np
from django.core.management import call_command
from django.test import override_settings

from cx.intents.classifier import CASCADE_THRESHOLD, TRANSFORMER_WEIGHT, IntentClassifier, _clean
from cx.intents.models import IntentModel, TicketIntent
from cx.intents.services import active_classifier, intent_settings_update, ticket_text
from cx.intents.tests.conftest import FIXTURES, fixture_rows
from cx.intents.tests.test_routing_and_api import open_ticket


@override_settings(INTENT_TRANSFORMER=True)
def test_train_command_stores_the_transformer_with_the_model_and_routing_asks_it_when_unsure(admin_user):
    out = io.StringIO()
    call_command("train", "intents", "--examples", str(FIXTURES / "intents_train.csv"), stdout=out)
    assert re.search(r"model #\d+ active: 4 intents, 60 examples, held-out accuracy [01]\.\d{4}", out.getvalue())
    run = IntentModel.objects.get(is_active=True)
    row, classifier = active_classifier()  # loaded from the database, as the web and worker processes do
    transformer = classifier.transformer
    assert row.pk == run.pk and transformer is not None and transformer.onnx_model.startswith(b"\x08")  # ONNX
    assert len(transformer.onnx_model) > 1e6 and transformer.training_cpu_seconds > 0

    # Uncertain texts also ask the fine-tuned transformer; confident ones get the fast models' answer.
    questions = [r["text"] for r in fixture_rows("intents_test.csv")] + ["hello", "", "🙂 ?"]
    fast = classifier._fast_proba(_clean(questions))
    asked = transformer.predict_proba(_clean(questions))
    assert asked.shape == (len(questions), 4) and np.allclose(asked.sum(axis=1), 1.0, atol=1e-4)
    unsure = fast.max(axis=1) < CASCADE_THRESHOLD
    assert unsure.any() and (~unsure).any()
    # (int8 activations are scaled per batch, so the transformer is asked exactly what the cascade asks it.)
    expected = fast.copy()
    expected[unsure] = ((1 - TRANSFORMER_WEIGHT) * fast[unsure]
                        + TRANSFORMER_WEIGHT * transformer.predict_proba(_clean([q for q, u in zip(questions, unsure,
                                                                                                  strict=True) if u])))
    probabilities = classifier.predict_proba(questions)
    assert np.allclose(probabilities, expected, atol=1e-6)
    assert classifier.cascade_share(questions) == unsure.mean()
    assert "fine-tuned MiniLM (int8)" in classifier.component_probabilities(questions)
    # Stored again and loaded (the ONNX session is rebuilt), it predicts the same.
    restored = IntentClassifier.from_bytes(classifier.to_bytes())
    assert restored.transformer._session is None
    assert np.allclose(restored.predict_proba(questions), probabilities, atol=1e-6)

    # Ticket routing: a vague new ticket is classified by the cascade.
    intent_settings_update(actor=admin_user, values={"threshold": 0.0})
    ticket = open_ticket("hello", "I have a question")  # vague: the fast models are unsure
    intent = TicketIntent.objects.get(ticket=ticket)
    text = ticket_text(ticket)
    expected = classifier.predict([text])[0]
    assert classifier.cascade_share([text]) == 1.0
    assert intent.label.name == expected.label and abs(intent.confidence - expected.confidence) <= 5e-5  # rounded


@override_settings(INTENT_TRANSFORMER=True)
def test_eval_intents_reports_the_cascade_share_and_the_transformer_alone():
    out = io.StringIO()
    call_command("eval", "intents", "--train", str(FIXTURES / "intents_train.csv"),
                 "--test", str(FIXTURES / "intents_test.csv"), stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert any(re.match(r"cascade: fine-tuned MiniLM asked about \d+\.\d% of the test texts", line) for line in lines)
    assert any(line.startswith("fine-tuned MiniLM (int8) alone: accuracy 0.") for line in lines)
    match = re.fullmatch(r"accuracy=(\d\.\d{4})", lines[-1])
    assert match and float(match.group(1)) >= 0.7
