from datetime import timedelta

from django.apps import AppConfig

from cx.core.navigation import NavItem


class MessagingConfig(AppConfig):
    name = "cx.messaging"
    label = "messaging"
    verbose_name = "Messaging connectors"
    nav_item = NavItem(label="Messaging", url_name="messaging:connectors", order=70, admin_only=True)

    def ready(self) -> None:
        from cx.core.periodic import register_periodic_job
        from cx.customers.registry import register_customer_data_handler
        from cx.messaging.services import MessagingDataHandler, messaging_on_ticket_change, outbound_retries_enqueue_due
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("messaging", messaging_on_ticket_change)
        register_customer_data_handler(MessagingDataHandler())
        # Retries are at least 30 s apart; checking every 30 s keeps the back-off close to its schedule.
        register_periodic_job(name="messaging.retry_due", every=timedelta(seconds=30), run=outbound_retries_enqueue_due)
