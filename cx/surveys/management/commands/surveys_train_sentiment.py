"""Train the shipped comment-sentiment model (cx/surveys/text/model/sentiment.joblib) from a labelled CSV."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from cx.surveys.text.evaluate import read_labelled
from cx.surveys.text.sentiment import MODEL_PATH, save, train


class Command(BaseCommand):
    help = "Train the survey-comment sentiment model from a CSV with sentence,label columns."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="CSV with sentence,label")
        parser.add_argument("--out", default=str(MODEL_PATH), help="where to write the model")

    def handle(self, *args, **options):
        sentences, labels = read_labelled(options["data"])
        model = train(sentences, labels)
        save(model, Path(options["out"]))
        self.stdout.write(f"trained on {len(sentences)} rows -> {options['out']}\n")
