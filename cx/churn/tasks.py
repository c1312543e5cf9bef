"""Background work for churn: training runs (admin button, API, schedule) and daily rescoring."""

from __future__ import annotations

from django_tasks import task


@task()
def train_churn_model(*, run_id: int) -> str:
    """Train the queued run and rescore; safe to run twice (a run that already started is left alone)."""
    from cx.churn.services import churn_model_train
    from cx.core.errors import ValidationFailed

    try:
        run = churn_model_train(run_id=run_id)
    except ValidationFailed as exc:
        return f"failed: {exc.message}"
    return run.status


@task()
def rescore_churn() -> int:
    from cx.churn.services import churn_scores_refresh

    return churn_scores_refresh()
