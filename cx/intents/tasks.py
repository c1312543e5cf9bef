"""Background work for intents: training runs queued by admins, the API and the schedule."""

from __future__ import annotations

from django_tasks import task


@task()
def train_intent_model(*, model_id: int) -> str:
    """Train the queued run; safe to run twice (a run that already started is left alone)."""
    from cx.core.errors import ValidationFailed
    from cx.intents.services import intent_model_train  # the services module queues this task

    try:
        run = intent_model_train(model_id=model_id)
    except ValidationFailed as exc:
        return f"failed: {exc.message}"
    return run.status
