"""Background work for webhooks: one delivery attempt per task, run by the task worker after commit."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_webhook(*, delivery_id: int, attempt: int) -> str:
    """Make one attempt; safe to run twice (the second run finds the attempt already claimed)."""
    from cx.webhooks.services import webhook_delivery_attempt  # the services module queues this task

    delivery = webhook_delivery_attempt(delivery_id=delivery_id, attempt=attempt)
    return delivery.status if delivery is not None else "skipped"
