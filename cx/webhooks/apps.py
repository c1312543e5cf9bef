from datetime import timedelta

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "cx.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from cx.core.periodic import register_periodic_job
        from cx.tickets.hooks import register_ticket_observer
        from cx.webhooks.services import webhook_retries_enqueue_due, webhooks_on_ticket_change

        register_ticket_observer("webhooks", webhooks_on_ticket_change)
        # Retries are due at least a minute apart, so checking every 30 s keeps the back-off accurate.
        register_periodic_job(name="webhooks.retry_due", every=timedelta(seconds=30), run=webhook_retries_enqueue_due)
