"""Comment text analytics: the sentiment decision rule, the shipped model on plain feedback, themes, and
`cxdesk eval sentiment` on data it is given."""

from __future__ import annotations

import csv
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cx.surveys.text.clustering import cluster_comments, theme_count
from cx.surveys.text.sentiment import analyse, label_from


def test_label_rule():
    assert label_from(0.95, [], True) == "positive"
    assert label_from(0.05, [], True) == "negative"
    assert label_from(0.5, [], True) == "neutral"
    assert label_from(0.3, [], False) == "neutral"  # unsure and no sentiment word
    assert label_from(0.4, [0.9, 0.1], True) == "mixed"


@pytest.mark.parametrize(("text", "label"), [
    ("The agent was great and solved my problem quickly, thank you!", "positive"),
    ("Terrible service, I waited a week and nobody answered.", "negative"),
    ("The agent was lovely, but the refund still has not arrived and I am angry.", "mixed"),
    ("I asked about my invoice number.", "neutral"),
])
def test_shipped_model_on_customer_feedback(text, label):
    result = analyse(text)
    assert result.label == label
    assert -1 <= result.score <= 1


def test_clustering_groups_similar_comments_and_names_them_by_key_terms():
    texts = ["refund took too long", "still waiting for my refund", "refund never arrived",
             "login page broken", "cannot login to my account", "login fails every time"]
    vectors = np.array([[1, 0]] * 3 + [[0, 1]] * 3, dtype=float)
    clusters = cluster_comments(texts, vectors, k=2)
    assert sorted(sorted(c.members) for c in clusters) == [[0, 1, 2], [3, 4, 5]]
    labels = {c.key_terms[0] for c in clusters}
    assert labels == {"refund", "login"}
    assert cluster_comments(texts[:3], vectors[:3]) == []  # too few comments
    assert theme_count(8) == 2 and theme_count(200) == 10


@pytest.mark.django_db
def test_themes_rebuild_over_survey_comments(make_survey, make_customer, no_quiet_hours,
                                             django_capture_on_commit_callbacks):
    from cx.surveys import services
    from cx.surveys.models import Response, Theme
    from cx.surveys.text.themes import themes_rebuild

    survey = make_survey("csat")
    policy = services.policy_get()
    policy.loop_csat_max = -1
    policy.loop_negative_comment = False
    policy.save()
    comments = ["My refund took three weeks to arrive", "Still waiting for the refund of my order",
                "The refund was never paid back", "The mobile app crashes when I log in",
                "App keeps crashing on my phone", "Login in the app fails and crashes", "Refund process is slow"]
    for comment in comments:
        with django_capture_on_commit_callbacks(execute=True):
            invitation = services.survey_invitation_create(survey=survey, customer=make_customer())
        invitation.refresh_from_db()
        headline, _, anything = list(survey.questions.all())
        services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": 2},
                                                                 {"question_id": anything.pk, "text": comment}],
                                 complete=True)
    themes = themes_rebuild(now=timezone.now())
    assert len(themes) == 2 and sum(t.size for t in themes) == 7
    refund_theme = next(t for t in themes if "refund" in t.key_terms)
    assert Response.objects.filter(theme=refund_theme).count() == 4
    assert Theme.objects.count() == 2


def _write(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "sentence", "label"])
        writer.writerows(rows)


def test_eval_sentiment_prints_a_table_and_key_values_last(tmp_path):
    positive = ["great service", "very helpful agent", "loved it", "excellent and fast", "so friendly",
                "works perfectly", "happy with the help", "fantastic support", "quick and kind", "best ever"]
    negative = ["terrible service", "very rude agent", "hated it", "awful and slow", "so unfriendly",
                "broken again", "unhappy with the help", "horrible support", "slow and careless", "worst ever"]
    _write(tmp_path / "train.csv", [("x", s, 1) for s in positive] + [("x", s, 0) for s in negative])
    _write(tmp_path / "test.csv", [("x", "really great and helpful", 1), ("x", "really awful and rude", 0)])
    out = StringIO()
    call_command("eval", "sentiment", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
                 stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[-1].startswith("accuracy=") and " f1=" in lines[-1]
    assert any(line.startswith("VADER") for line in lines)
    accuracy = float(lines[-1].split()[0].split("=")[1])
    assert accuracy == 1.0


def test_eval_sentiment_refuses_bad_files(tmp_path):
    (tmp_path / "bad.csv").write_text("text,polarity\nhello,1\n")
    with pytest.raises(CommandError, match="needs the columns sentence,label"):
        call_command("eval", "sentiment", "--train", str(tmp_path / "bad.csv"), "--test", str(tmp_path / "bad.csv"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("eval", "sentiment", "--train", str(tmp_path / "none.csv"), "--test", str(tmp_path / "none.csv"))
